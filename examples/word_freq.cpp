// SPDX-License-Identifier: Apache-2.0
// word_freq.cpp — word frequencies of a text file through a smarm::pipe pipeline.
//
//   word_freq FILE [--top N] [--workers N]
//
// The file's lines go through: batch(256) (a few hundred lines per work item) ->
// par_map(n, count the words of one batch) -> fold (merge the counts). Every stage is an
// actor; par_map runs its n counters at once on the runtime's workers. The N most
// frequent words are printed, with the number of lines and words read. The example then
// counts the file again with a plain loop and exits with status 1 if the two disagree,
// so ctest checks the pipeline's result, not only that it ran.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <smarm/smarm.hpp>

namespace {

using Counts = std::unordered_map<std::string, std::int64_t>;

// count_words adds the words of `text` to `counts`: runs of letters, digits and
// apostrophes, lower-cased.
void count_words(const std::string& text, Counts& counts) {
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'') {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  if (!word.empty()) ++counts[word];
}

std::int64_t total(const Counts& c) {
  std::int64_t n = 0;
  for (const auto& kv : c) n += kv.second;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  std::size_t top = 10;
  std::size_t workers = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
      top = std::strtoul(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      workers = std::max(1ul, std::strtoul(argv[++i], nullptr, 10));
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    std::fprintf(stderr, "usage: word_freq FILE [--top N] [--workers N]\n");
    return 2;
  }

  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "word_freq: cannot open %s\n", path);
      return 2;
    }
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  }

  // A block-scope alias: at namespace scope `pipe` is POSIX's pipe() from <unistd.h>.
  namespace pipe = smarm::pipe;
  auto r = smarm::runtime::init(smarm::Config::exact(workers)).run([&] {
    // `lines` is borrowed: the fold parks this actor until every stage has finished.
    return pipe::from(lines) | pipe::batch(256) |
           pipe::par_map(workers,
                         [](const std::vector<std::string>& batch) {
                           Counts c;
                           for (const auto& line : batch) count_words(line, c);
                           return c;
                         }) |
           pipe::fold(Counts{}, [](Counts acc, Counts part) {
             for (auto& [word, n] : part) acc[word] += n;
             return acc;
           });
  });
  if (!r || !*r) {
    std::fprintf(stderr, "word_freq: %s\n",
                 !r ? r.error().message().c_str() : r->error().message().c_str());
    return 1;
  }
  const Counts& counts = **r;

  std::vector<std::pair<std::string, std::int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::printf("%s: %zu lines, %lld words, %zu distinct\n", path, lines.size(),
              static_cast<long long>(total(counts)), counts.size());
  for (std::size_t i = 0; i < std::min(top, sorted.size()); ++i)
    std::printf("%8lld  %s\n", static_cast<long long>(sorted[i].second), sorted[i].first.c_str());

  Counts check;  // the same count, one plain loop
  for (const auto& line : lines) count_words(line, check);
  if (check != counts) {
    std::fprintf(stderr, "word_freq: the pipeline's counts differ from a plain loop's\n");
    return 1;
  }
  return 0;
}
