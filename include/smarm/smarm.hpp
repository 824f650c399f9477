// SPDX-License-Identifier: Apache-2.0
// smarm.hpp — the whole public API of smarm (namespace smarm). Includes nothing else.
#pragma once

#include <smarm/block_on_io.hpp>
#include <smarm/channel.hpp>
#include <smarm/config.hpp>
#include <smarm/debug.hpp>
#include <smarm/error.hpp>
#include <smarm/io.hpp>
#include <smarm/join_all.hpp>
#include <smarm/mailbox.hpp>  // with select.hpp and overloaded.hpp
#include <smarm/mutex.hpp>
#include <smarm/pid.hpp>
#include <smarm/pipe.hpp>
#include <smarm/preempt.hpp>
#include <smarm/process_signals.hpp>
#include <smarm/runtime.hpp>
#include <smarm/signal.hpp>
#include <smarm/spawn.hpp>
#include <smarm/stats.hpp>
#include <smarm/supervisor.hpp>
#include <smarm/task.hpp>
#include <smarm/tcp.hpp>
#include <smarm/timer.hpp>
#include <smarm/trace.hpp>
#include <smarm/version.hpp>  // generated: SMARM_VERSION, SMARM_VERSION_STRING
