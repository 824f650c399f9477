// SPDX-License-Identifier: Apache-2.0
// pubsub.cpp — publish/subscribe with typed mailboxes, ask and select.
//
// A broker actor keeps, per topic, the addresses of its subscribers and forwards every
// published item to them. Everyone is an actor with a typed mailbox:
//   - the broker's mailbox is bounded (capacity 4): a publisher faster than the broker
//     parks in its send — back-pressure, no unbounded queue growth;
//   - the publisher sends through select(send(...), after(1s)), so a stuck broker would
//     show up as a timeout instead of a hang (and hand the item back);
//   - subscribers select on their mailbox with an idle timeout;
//   - main asks the broker for its delivery count (ask/ReplyTo request-reply).
// Exits 0 when every subscriber got exactly the items of its topics.
#include <cstddef>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <smarm/smarm.hpp>

namespace {

using namespace std::chrono_literals;

// What subscribers receive.
struct News {
  std::string topic;
  int seq = 0;
};
struct Done {};  // the broker is closing: no more news
using SubMsg = std::variant<News, Done>;

// What the broker receives.
struct Subscribe {
  std::string topic;
  smarm::Address<SubMsg> who;
};
struct Publish {
  News news;
};
struct Delivered {  // a request: how many items have been delivered so far?
  smarm::ReplyTo<std::size_t> reply_to;
};
struct Close {};
using BrokerMsg = std::variant<Subscribe, Publish, Delivered, Close>;

std::size_t broker(smarm::Mailbox<BrokerMsg>& mb) {
  std::map<std::string, std::vector<smarm::Address<SubMsg>>> topics;
  std::size_t delivered = 0;
  bool open = true;
  while (open) {
    auto r = mb.recv(smarm::overloaded{
        [&](Subscribe s) { topics[s.topic].push_back(std::move(s.who)); },
        [&](Publish p) {
          for (auto& sub : topics[p.news.topic])
            if (sub.send(p.news)) ++delivered;  // a dead subscriber just misses it
        },
        [&](Delivered d) { (void)d.reply_to.send(delivered); },
        [&](Close) { open = false; },
    });
    if (!r) break;  // every address gone
  }
  // Each subscriber hears Done once, after everything it was sent (one sender: FIFO).
  std::map<smarm::Pid, smarm::Address<SubMsg>> everyone;
  for (auto& [topic, subs] : topics)
    for (auto& s : subs) everyone.emplace(s.pid(), s);
  for (auto& [pid, s] : everyone) (void)s.send(Done{});
  return delivered;
}

struct Tally {
  std::map<std::string, int> per_topic;
  int idle_ticks = 0;  // timeouts while waiting (depends on timing: printed, not checked)
};

Tally subscriber(smarm::Mailbox<SubMsg>& mb) {
  Tally t;
  for (;;) {
    auto s = smarm::select(smarm::recv(mb), smarm::after(5ms));
    if (s.index() == 1) {  // nothing for 5 ms: a real subscriber would do housekeeping
      ++t.idle_ticks;
      continue;
    }
    if (!s || std::holds_alternative<Done>(s.get<0>())) break;
    ++t.per_topic[std::get<News>(s.get<0>()).topic];
  }
  return t;
}

}  // namespace

int main() {
  constexpr int kItems = 200;  // alternately on "sports" and "weather"
  auto r = smarm::runtime::init(smarm::Config::exact(2)).run([] {
    auto [hub, hub_handle] = smarm::spawn_actor<BrokerMsg>(broker, {.capacity = 4});

    struct Sub {
      const char* name;
      std::vector<std::string> topics;
    };
    const std::vector<Sub> subs = {
        {"alice", {"sports", "weather"}}, {"bob", {"sports"}}, {"carol", {"weather"}}};
    std::vector<smarm::JoinHandle<Tally>> handles;
    for (const auto& sub : subs) {
      auto spawned = smarm::spawn_actor<SubMsg>(subscriber, {.spawn = {.name = sub.name}});
      for (const auto& topic : sub.topics) hub.send(Subscribe{topic, spawned.address}).value();
      handles.push_back(std::move(spawned.handle));
    }

    auto publisher = smarm::spawn([hub = hub] {
      int stalled = 0;
      for (int i = 0; i < kItems; ++i) {
        BrokerMsg item = Publish{News{i % 2 ? "weather" : "sports", i}};
        for (;;) {  // a full broker mailbox parks us here: back-pressure
          auto s = smarm::select(smarm::send(hub, std::move(item)), smarm::after(1s));
          if (s) break;
          if (s.error().code() != smarm::Errc::TimedOut) return -1;  // broker gone
          ++stalled;
          item = *s.take_back<0>();  // not sent: try again
        }
      }
      return stalled;
    });
    const int stalled = publisher.join().value();

    auto delivered = smarm::ask(hub, Delivered{}, 5s);
    std::printf("broker delivered %zu items (publisher stalled %d times)\n", delivered.value_or(0),
                stalled);
    hub.send(Close{}).value();
    (void)hub_handle.join();

    bool ok = delivered && *delivered == 2 * kItems && stalled >= 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      auto t = handles[i].join().value();
      auto got = [&t](const char* topic) {
        auto it = t.per_topic.find(topic);
        return it == t.per_topic.end() ? 0 : it->second;
      };
      std::printf("%-6s sports=%d weather=%d (idle %d)\n", subs[i].name, got("sports"),
                  got("weather"), t.idle_ticks);
      for (const auto& topic : subs[i].topics) ok = ok && got(topic.c_str()) == kItems / 2;
      ok = ok && t.per_topic.size() == subs[i].topics.size();  // nothing from other topics
    }
    std::printf("%s\n", ok ? "pubsub: ok" : "pubsub: MISMATCH");
    return ok;
  });
  return r && *r ? 0 : 1;
}
