# A stand-in for the Python `au` writing its config, exactly as that tool does: open the TOML
# file "r+", flock(LOCK_EX) on it (polling LOCK_NB), read and parse it, then rewrite it in
# place (seek 0, truncate, write, fsync). Each round adds one agent table, as its `new` does.
# It goes on until STOPFILE exists (and at least MIN_ROUNDS were made), then prints the count.
# Usage: python3 python-au-writer.py CONFIG PREFIX STOPFILE MIN_ROUNDS
import fcntl
import os
import sys
import time
import tomllib

path, prefix, stop, min_rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
i = 0
while i < min_rounds or not os.path.exists(stop):
    with open(path, "r+", encoding="utf-8") as fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.002)
        fh.seek(0)
        text = fh.read()
        tomllib.loads(text)  # a torn or half-written file fails the run here
        name = f"{prefix}{i}"
        text = text.rstrip("\n") + (
            f'\n\n[[agents]]\nuser_name = "{name}"\nsu_as_agent_group = "su-as-{name}"\n'
            f'entrypoint = "/nonexistent/{name}"\nentrypoint_sha256 = ""\nbootstrapped = false\n'
        )
        fh.seek(0)
        fh.truncate()
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    i += 1
    time.sleep(0.005 * (i % 4))
print(i)
