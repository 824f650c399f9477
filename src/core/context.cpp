// SPDX-License-Identifier: Apache-2.0
// context.cpp — make_context: the initial frame of a fresh context.
#include "core/context.hpp"

#include <cstring>

namespace smarm::detail {

void* make_context(void* stack_top, ContextEntry entry, void* arg) noexcept {
  // The top 16 bytes hold a null "return address" pair so backtraces end cleanly. The
  // return slot sits 24 bytes below the (16-byte aligned) top: after `ret` pops it, rsp
  // is 16-byte aligned, which is what smarm_context_entry needs before its `call`.
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // NOLINTNEXTLINE(performance-no-int-to-ptr): a frame laid out by hand on an aligned address
  auto* ret_slot = reinterpret_cast<char*>(top - 24);
  char* sp = ret_slot - kFrameReturn;
  std::memset(sp, 0, top - reinterpret_cast<std::uintptr_t>(sp));

  auto put = [sp](std::size_t offset, std::uint64_t v) { std::memcpy(sp + offset, &v, 8); };
  put(kFrameReturn, reinterpret_cast<std::uint64_t>(&smarm_context_entry));
  put(kFrameR12, reinterpret_cast<std::uint64_t>(entry));
  put(kFrameR13, reinterpret_cast<std::uint64_t>(arg));
  // ABI defaults: all SSE exceptions masked, round to nearest; x87 extended precision.
  std::uint32_t mxcsr = 0x1F80;
  std::uint16_t fcw = 0x037F;
  std::memcpy(sp + kFrameFpuControl, &mxcsr, 4);
  std::memcpy(sp + kFrameFpuControl + 4, &fcw, 2);
  return sp;
}

}  // namespace smarm::detail
