#!/usr/bin/env bash
# entrypoint-smoke.sh: build the setuid entrypoint for a throwaway agent and check it from outside.
# Run as root.  Creates users aut-a<rand> (agent), aut-h<rand> (human, in su-as-aut-a<rand>), a
# root-owned temp dir with the entrypoint (root:su-as-AGENT 4750), runs the checks as the human,
# prints PASS/FAIL lines and removes everything again (trap), even on failure.
# Usage: scripts/entrypoint-smoke.sh [path/to/su_as_agent.c]
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "entrypoint-smoke: run as root" >&2; exit 2; }
SRC_C=${1:-$(cd "$(dirname "$0")/.." && pwd)/src/entrypoint/su_as_agent.c}
R=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
AG=aut-a$R HU=aut-h$R DG=su-as-aut-a$R
WORK="" FAILS=0 PASSES=0 BG=""

kill_agent() { # only processes of the throwaway agent uid
  local pids; pids=$(pgrep -u "$AG" 2>/dev/null) || return 0
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}
cleanup() {
  [ -n "$BG" ] && kill -KILL "$BG" 2>/dev/null
  if id "$AG" >/dev/null 2>&1; then kill_agent; sleep 0.2; userdel -r "$AG" >/dev/null 2>&1; fi
  id "$HU" >/dev/null 2>&1 && userdel -r "$HU" >/dev/null 2>&1
  getent group "$DG" >/dev/null && groupdel "$DG"
  getent group "$AG" >/dev/null && groupdel "$AG" 2>/dev/null
  [ -n "$WORK" ] && rm -rf -- "$WORK"
  rm -f "/tmp/aut-marker-$R" "/tmp/inside-$R"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILS=$((FAILS + 1)); }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi; }
# check_re NAME REGEX ACTUAL
check_re() { if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "[$3] does not match /$2/"; fi; }
as_h() { runuser -u "$HU" -- "$@"; }
no_agent_procs() { # waits up to $1 seconds for the agent uid to have no live process left (zombies
  # are ignored: one whose parent was killed waits for the host's init to reap it)
  local i; for ((i = 0; i < $1 * 10; i++)); do
    ps -u "$AUID" -o stat= | grep -qv '^Z' || return 0; sleep 0.1; done; return 1
}
child_of() { # first child pid of $1 (waits up to 5 s)
  local i c; for ((i = 0; i < 50; i++)); do c=$(pgrep -P "$1" | head -1); [ -n "$c" ] && { echo "$c"; return; }; sleep 0.1; done
}

# --- set-up -------------------------------------------------------------------------------
groupadd "$DG" && useradd -m -U -s /bin/bash "$AG" && useradd -m -s /bin/bash -G "$DG" "$HU" ||
  { echo "FAIL setup: cannot create users"; exit 1; }
AUID=$(id -u "$AG") AGID=$(id -g "$AG") DGID=$(getent group "$DG" | cut -d: -f3)
AH=$(getent passwd "$AG" | cut -d: -f6) HH=$(getent passwd "$HU" | cut -d: -f6)
chown "$AG:$DG" "$AH" && chmod 2770 "$AH" && chmod 0750 "$HH"
mkdir "$HH/ro-src" "$HH/rw-src" "$HH/rootdir" && echo hello >"$HH/ro-src/file"
chown -R "$HU:$HU" "$HH/ro-src" "$HH/rw-src" && setfacl -m "u:$AG:rwx" "$HH/rw-src"
ln -s ro-src "$HH/link" && chown -h "$HU:$HU" "$HH/link"
WORK=$(mktemp -d /tmp/aut-ep.XXXXXX) && chmod 0755 "$WORK" && mkdir -m 0755 "$WORK/open"
if cc -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie \
  -DAGENT_NAME="\"$AG\"" -DAGENT_UID="$AUID" -DAGENT_GID="$AGID" -DDRIVER_GID="$DGID" \
  -DAGENT_HOME="\"$AH\"" -o "$WORK/su_as_agent" "$SRC_C"; then pass "compiles without warnings"
else fail "compiles without warnings"; exit 1; fi
EP=$WORK/su_as_agent
chown "root:$DG" "$EP" && chmod 4750 "$EP"
cp "$EP" "$WORK/open/su_as_agent" && chmod 4755 "$WORK/open/su_as_agent" # for the refusal checks
EPO=$WORK/open/su_as_agent

# --- identity, environment, credentials ---------------------------------------------------------
check "id is the agent, no supplementary group" "uid=$AUID($AG) gid=$AGID($AG) groups=$AGID($AG)" \
  "$(as_h "$EP" -- id)"
check "environment is exactly the allowed one" \
  "$(printf '%s\n' "FOO=a=b" "HOME=$AH" "LANG=C.UTF-8" "LOGNAME=$AG" "PATH=/bin:/usr/bin" "SHELL=/bin/bash" "TERM=dumb" "USER=$AG")" \
  "$(as_h env -i SECRET=s3cret LANG=C.UTF-8 TERM=dumb AU_ENV_FOO=a=b AU_ENV_PATH=/bin:/usr/bin "$EP" -- /usr/bin/env | sort)"
check "no LANG/TERM when the caller has none, default PATH" \
  "$(printf '%s\n' "HOME=$AH" "LOGNAME=$AG" "PATH=/usr/local/bin:/usr/bin:/bin" "SHELL=/bin/bash" "USER=$AG")" \
  "$(as_h env -i SSH_AUTH_SOCK=/x AWS_SECRET=y "$EP" -- env | sort)"
for bad in AU_ENV_HOME=x AU_ENV_USER=x AU_ENV_1X=y AU_ENV_A-B=z AU_ENV_=z; do
  as_h env "$bad" "$EP" -- true 2>/dev/null; check "refuses $bad" 125 $?
done
st=$(as_h "$EP" -- grep -E '^(NoNewPrivs|CapInh|CapPrm|CapEff|CapAmb|Groups):' /proc/self/status | tr -s '\t ' ' ')
check "no_new_privs, no capabilities, no groups" \
  "$(printf '%s\n' "Groups: " "CapInh: 0000000000000000" "CapPrm: 0000000000000000" "CapEff: 0000000000000000" "CapAmb: 0000000000000000" "NoNewPrivs: 1")" "$st"
check "ps sees only the namespace (init + ps)" "1 su_as_agent|2 ps" \
  "$(as_h "$EP" -- ps -e -o pid=,comm= | awk '{print $1" "$2}' | paste -sd'|')"
check "default cwd is the agent home" "$AH" "$(as_h "$EP" -- pwd)"
check "only fds 0-2 reach the command" "0 1 2 3" \
  "$(as_h bash -c "exec 7</etc/hostname 8>&1; exec '$EP' -- ls /proc/self/fd" | paste -sd' ')"
check "the agent cannot read the entrypoint's memory (/proc/1/environ)" "denied" \
  "$(as_h env SECRET=s3cret "$EP" -- sh -c 'cat /proc/1/environ >/dev/null 2>&1 && echo readable || echo denied')"
check "a stopped command is continued" "resumed" "$(as_h "$EP" -- sh -c 'kill -STOP $$; echo resumed')"

# --- private /tmp and /dev/shm ------------------------------------------------------------------------
touch "/tmp/aut-marker-$R"
check "private /tmp and /dev/shm start empty" "|" "$(as_h "$EP" -- sh -c 'ls -A /tmp; echo "|"; ls -A /dev/shm')"
as_h "$EP" -- touch "/tmp/inside-$R"
check "files in private /tmp do not reach the host" "absent" "$([ -e "/tmp/inside-$R" ] && echo present || echo absent)"

# --- mounts ------------------------------------------------------------------------------------
out=$(as_h "$EP" --mount-ro "$HH/ro-src" "$AH/share/ro" -- sh -c 'cat ~/share/ro/file; touch ~/share/ro/x 2>&1; echo "rc=$?"')
check_re "ro mount readable, writes refused (EROFS)" $'^hello\n.*Read-only file system\nrc=1$' "$out"
check "mount target created as the agent" "$AG" "$(stat -c %U "$AH/share" "$AH/share/ro" | sort -u)"
opts=$(as_h "$EP" --mount-ro "$HH/ro-src" "$AH/share/ro" --mount-rw "$HH/rw-src" "$AH/rw" -- \
  awk -v a="$AH/share/ro" -v b="$AH/rw" '$5 == a || $5 == b { print $5, $6 }' /proc/self/mountinfo)
check_re "ro mount is ro,nosuid,nodev" "$AH/share/ro ro,nosuid,nodev" "$opts"
check_re "rw mount is rw,nosuid,nodev" "$AH/rw rw,nosuid,nodev" "$opts"
as_h "$EP" --mount-rw "$HH/rw-src" "$AH/rw" -- sh -c 'echo hi > ~/rw/new'
check "rw mount writes reach the source, as the agent" "hi $AG" "$(cat "$HH/rw-src/new" 2>&1) $(stat -c %U "$HH/rw-src/new" 2>&1)"
check "--chdir" "$AH/rw" "$(as_h "$EP" --mount-rw "$HH/rw-src" "$AH/rw" --chdir "$AH/rw" -- pwd)"
check "nothing mounted on the host" 0 "$(grep -c "$AG" /proc/self/mountinfo)"

refuse() { # refuse NAME ARGS...: the entrypoint must exit 125 and run nothing
  local rc; as_h "$EP" "${@:2}" -- touch "$AH/ran-$R" 2>/dev/null; rc=$?
  if [ "$rc" = 125 ] && [ ! -e "$AH/ran-$R" ]; then pass "refuses $1"; else fail "refuses $1" "rc=$rc"; fi
  rm -f "$AH/ran-$R"
}
refuse "a symlinked source" --mount-ro "$HH/link" "$AH/l"
refuse "a source not owned by the caller" --mount-ro "$HH/rootdir" "$AH/r"
refuse "a source outside the caller's home" --mount-ro /etc "$AH/etc"
refuse "a target outside the agent home" --mount-ro "$HH/ro-src" "/tmp/x$R"
refuse "the agent home itself as target" --mount-ro "$HH/ro-src" "$AH"
refuse "a target with .." --mount-ro "$HH/ro-src" "$AH/../$HU/x"
refuse "a target with //" --mount-ro "$HH/ro-src" "$AH//x"
refuse "a relative source" --mount-ro "ro-src" "$AH/x"
refuse "a missing source" --mount-ro "$HH/nope" "$AH/x"
refuse "an unknown option" --frobnicate
refuse "a relative --chdir" --chdir tmp
many=(); for ((i = 0; i < 65; i++)); do many+=(--mount-ro "$HH/ro-src" "$AH/m$i"); done
refuse "more than 64 mounts" "${many[@]}"
runuser -u "$AG" -- ln -s /etc "$AH/evil" && runuser -u "$AG" -- ln -s /root "$AH/evil2"
refuse "a symlink in a target's parents (A3)" --mount-ro "$HH/ro-src" "$AH/evil/aut-$R"
check "nothing created through the planted symlink" "absent" "$([ -e "/etc/aut-$R" ] && echo present || echo absent)"
refuse "a symlink as the target (A3)" --mount-ro "$HH/ro-src" "$AH/evil2"
as_h "$EP" --mount-rw "$HH/rw-src" "$AH/rw" -- ln -s "$HH/ro-src" "$AH/rw/sneaky"
check "the agent planted a symlink in its rw share" "$HH/ro-src" "$(readlink "$HH/rw-src/sneaky")"
refuse "a symlink the agent planted in a rw share (A18)" --mount-ro "$HH/rw-src/sneaky" "$AH/s"

# --- who may run it -------------------------------------------------------------------------------
err=$(runuser -u "$AG" -- "$EP" -- true 2>&1)
check_re "the agent cannot execute the 4750 entrypoint" "failed to execute .*: Permission denied" "$err"
err=$(runuser -u "$AG" -- "$EPO" -- true 2>&1); rc=$?
check_re "the agent is refused by the entrypoint itself (4755 copy)" "^125 su_as_agent: refusing" "$rc $err"
err=$(runuser -u nobody -- "$EPO" -- true 2>&1); rc=$?
check_re "a non-member is refused (4755 copy)" "^125 su_as_agent: refusing caller" "$rc $err"

# --- exit codes -------------------------------------------------------------------------------
as_h "$EP" -- sh -c 'exit 42'; check "exit code passed through" 42 $?
as_h "$EP" -- sh -c 'kill -TERM $$'; check "death by signal -> 128+N" 143 $?
as_h "$EP" -- /nonexistent/cmd 2>/dev/null; check "missing command -> 127" 127 $?
runuser -u "$AG" -- sh -c "echo true > '$AH/noexec.sh'; chmod 644 '$AH/noexec.sh'"
as_h "$EP" -- ./noexec.sh 2>/dev/null; check "non-executable command -> 126" 126 $?
as_h "$EP" --chdir /nonexistent -- true 2>/dev/null; check "bad --chdir -> 125" 125 $?

# --- terminals ---------------------------------------------------------------------------------
# not on au's PTY (caller's terminal): new session, no controlling tty (field 7 tty_nr = 0)
stat=$(script -qec "runuser -u $HU -- $EP -- cat /proc/self/stat" /dev/null | tr -d '\r')
check "caller's terminal is not the agent's controlling tty" 0 "$(echo "$stat" | awk '{print $7}')"
# on a PTY whose session the entrypoint leads (what au does): keeps it, command in the foreground
stat=$(as_h script -qec "exec $EP -- cat /proc/self/stat" /dev/null | tr -d '\r')
check_re "on au's PTY: controlling tty kept, command is the foreground group" "^yes$" \
  "$(echo "$stat" | awk '{print ($7 != 0 && $5 == $8) ? "yes" : "no: " $0}')"

# --- nothing outlives the run ------------------------------------------------------------------------
as_h "$EP" -- sh -c 'setsid -f sleep 300; (sleep 301 &); nohup sleep 302 >/dev/null 2>&1 &'
if no_agent_procs 2; then pass "setsid -f / double fork / nohup children killed at exit"
else fail "setsid -f / double fork / nohup children killed at exit" "$(pgrep -a -u "$AG")"; kill_agent; fi

sig_test() { # sig_test NAME SIGNAL EXPECTED_RC MAX_SECONDS CMD...
  local name=$1 sig=$2 want=$3 max=$4 t0 p0 rc; shift 4
  runuser -u "$HU" -- "$EP" -- "$@" 2>/dev/null & BG=$! # runuser forks: the entrypoint is its child
  p0=$(child_of "$BG"); sleep 0.5; t0=$(date +%s%N)
  if [ -z "$p0" ]; then fail "$name" "entrypoint did not start"; return; fi
  kill "-$sig" "$p0"; wait "$BG"; rc=$?; BG=""
  local ms=$((($(date +%s%N) - t0) / 1000000))
  if [ "$rc" = "$want" ] && no_agent_procs 1 && [ "$ms" -le $((max * 1000)) ]; then pass "$name (rc=$rc, ${ms} ms)"
  else fail "$name" "rc=$rc want $want, ${ms} ms, left: $(pgrep -a -u "$AG" | paste -sd,)"; kill_agent; fi
}
runuser -u "$HU" -- "$EP" -- sleep 3 & BG=$!
p0=$(child_of "$BG"); sleep 0.5
HUID=$(id -u "$HU")
check "the human-side process runs as the human, without capabilities" "$HUID $HUID $HUID 0000000000000000" \
  "$(awk '/^Uid:/ {print $2, $3, $4} /^CapEff:/ {print $2}' "/proc/$p0/status" | paste -sd' ')"
runuser -u "$AG" -- kill -0 "$p0" 2>/dev/null
check "the agent cannot signal the human-side process" 1 $?
kill -KILL "$BG" "$p0" 2>/dev/null; wait "$BG" 2>/dev/null; BG=""; no_agent_procs 2
sig_test "SIGTERM to the entrypoint ends the agent's tree" TERM 143 2 sh -c 'setsid -f sleep 300; sleep 100'
sig_test "SIGHUP to the entrypoint ends the agent's tree" HUP 129 2 sleep 100
sig_test "a SIGTERM-ignoring agent is SIGKILLed after the grace" TERM 137 6 sh -c 'trap "" TERM; sleep 100; sleep 100'
sig_test "SIGKILL of the entrypoint kills the namespace (PDEATHSIG)" KILL 137 2 sh -c 'setsid -f sleep 300; sleep 100'

echo "entrypoint-smoke: $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
