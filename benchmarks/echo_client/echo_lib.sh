# SPDX-License-Identifier: Apache-2.0
# echo_lib.sh — start and stop a W6 echo server from bash; sourced by benchmarks/w6.sh and
# echo_smoke.sh (not run on its own).
#
# The server contract (every W6 server, smarm and Asio alike):
#   SERVER --port 0 --threads T
#   - listens on 127.0.0.1, port 0 meaning "any free port";
#   - prints `listening port=NNNNN` as its first stdout line, flushed, once it accepts;
#   - exits 0 on SIGTERM (and SIGINT);
#   - exits 77 before that first line when its I/O backend cannot run on this machine
#     (for example io_uring refused by the kernel), with the reason on stderr.
#
# echo_start_server BIN T [CPUS]
#   Starts BIN in the background (pinned with taskset -c CPUS when CPUS is given) and waits
#   up to ECHO_START_TIMEOUT_S (default 10) seconds for its first line. Sets ECHO_PID and
#   ECHO_PORT. Returns 0 when listening, 77 when the server exited 77 (ECHO_WHY: its
#   reason), 1 on any other failure (ECHO_WHY: what went wrong).
# echo_stop_server
#   Sends SIGTERM to ECHO_PID and waits up to ECHO_STOP_TIMEOUT_S (default 10) seconds.
#   Returns 0 if it exited with status 0; otherwise kills it (SIGKILL) if it is still
#   there and returns 1 with ECHO_WHY set. Safe to call when no server is running.
#
# The server's stdout and stderr go to files in ECHO_DIR (a temporary directory made on
# first use and removed by echo_cleanup, which callers run from an EXIT trap).

# ECHO_PORT and ECHO_WHY are read by the scripts that source this file.
# shellcheck disable=SC2034

ECHO_PID=""
ECHO_PORT=""
ECHO_WHY=""
ECHO_DIR=""

echo_cleanup() {
  if [[ -n "$ECHO_PID" ]]; then
    kill -KILL "$ECHO_PID" 2>/dev/null
    wait "$ECHO_PID" 2>/dev/null
    ECHO_PID=""
  fi
  [[ -n "$ECHO_DIR" ]] && rm -rf "$ECHO_DIR"
  ECHO_DIR=""
}

# _echo_running PID: the process exists and is not a zombie. (kill -0 succeeds on an
# unreaped child, so it cannot tell whether our own child has exited.)
_echo_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }  # the state follows the parenthesised command name
  [[ "${stat:0:1}" != Z ]]
}

# _echo_stderr_tail: the server's last stderr lines, on one line.
_echo_stderr_tail() {
  tail -n 3 "$ECHO_DIR/server.err" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'
}

echo_start_server() {
  local bin=$1 threads=$2 cpus=${3:-}
  local deadline line rc
  [[ -n "$ECHO_DIR" ]] || ECHO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/smarm-w6.XXXXXX")
  ECHO_PORT=""
  ECHO_WHY=""
  : >"$ECHO_DIR/server.out"
  : >"$ECHO_DIR/server.err"
  if [[ ! -x "$bin" ]]; then
    ECHO_WHY="server binary not found or not executable: $bin"
    return 1
  fi
  local -a pin=()
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  "${pin[@]}" "$bin" --port 0 --threads "$threads" \
    >"$ECHO_DIR/server.out" 2>"$ECHO_DIR/server.err" &
  ECHO_PID=$!
  deadline=$((SECONDS + ${ECHO_START_TIMEOUT_S:-10}))
  while :; do
    # read fails until a whole line (newline included) is there.
    if IFS= read -r line <"$ECHO_DIR/server.out"; then
      if [[ "$line" =~ ^listening\ (.*\ )?port=([0-9]+)(\ |$) ]] &&
        ((BASH_REMATCH[2] > 0 && BASH_REMATCH[2] < 65536)); then
        ECHO_PORT=${BASH_REMATCH[2]}
        return 0
      fi
      ECHO_WHY="first line is not 'listening port=N': '$line'"
      echo_stop_server >/dev/null
      ECHO_WHY="first line is not 'listening port=N': '$line'"
      return 1
    fi
    if ! _echo_running "$ECHO_PID"; then
      wait "$ECHO_PID"
      rc=$?
      ECHO_PID=""
      ECHO_WHY="server exited with status $rc before listening: $(_echo_stderr_tail)"
      ((rc == 77)) && ECHO_WHY="$(_echo_stderr_tail)" && return 77
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo_stop_server >/dev/null
      ECHO_WHY="no 'listening port=N' line within ${ECHO_START_TIMEOUT_S:-10} s"
      return 1
    fi
    sleep 0.02
  done
}

echo_stop_server() {
  local deadline rc
  [[ -n "$ECHO_PID" ]] || return 0
  kill -TERM "$ECHO_PID" 2>/dev/null
  deadline=$((SECONDS + ${ECHO_STOP_TIMEOUT_S:-10}))
  while _echo_running "$ECHO_PID"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$ECHO_PID" 2>/dev/null
      wait "$ECHO_PID" 2>/dev/null
      ECHO_PID=""
      ECHO_WHY="server still running ${ECHO_STOP_TIMEOUT_S:-10} s after SIGTERM (killed)"
      return 1
    fi
    sleep 0.02
  done
  wait "$ECHO_PID"
  rc=$?
  ECHO_PID=""
  if ((rc != 0)); then
    ECHO_WHY="server exited with status $rc after SIGTERM: $(_echo_stderr_tail)"
    return 1
  fi
  return 0
}
