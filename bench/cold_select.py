"""Wall time and the server's CPU time (/proc/PID/stat, 10 ms ticks) of the first SELECT
after LOGIN, then the wall time of a second one. Restart the server before each run for a
cold SELECT.

usage: python3 bench/cold_select.py PORT SERVER_PID [USER PASSWORD [MAILBOX]]
"""

import imaplib
import os
import sys
import time


def main() -> None:
    port, pid = int(sys.argv[1]), sys.argv[2]
    user = sys.argv[3] if len(sys.argv) > 3 else "big"
    password = sys.argv[4] if len(sys.argv) > 4 else "bigpass1234"
    mailbox = sys.argv[5] if len(sys.argv) > 5 else "INBOX"
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_ms() -> float:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / tick

    client = imaplib.IMAP4("127.0.0.1", port, timeout=600)
    client.login(user, password)
    time.sleep(0.5)
    c0, t0 = cpu_ms(), time.monotonic()
    typ, data = client.select(mailbox)
    t1 = time.monotonic()
    c1 = cpu_ms()
    t2 = time.monotonic()
    client.select(mailbox)
    t3 = time.monotonic()
    print(f"first SELECT {typ} {data[0].decode()}: {1000 * (t1 - t0):.0f} ms wall, "
          f"{c1 - c0:.0f} ms server CPU; second {1000 * (t3 - t2):.0f} ms wall")
    client.logout()


if __name__ == "__main__":
    main()
