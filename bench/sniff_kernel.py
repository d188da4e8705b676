#!/usr/bin/env python3
"""Kernel filter and ring benchmark (issue 14): `socklab sniff -B KiB` and
`tcpdump -B KiB`, the same kernel buffer, side by side under the same
`iperf3 -u -b 0 -l 64` flood on lo, in one run, for:

  (a)  a filter matching the flood, printing to /dev/null
  (a') a filter matching the flood, writing a pcap (-w), stdout to /dev/null
  (b)  a filter matching none of the flood (udp port 9)
  (c)  as (a'), for 15 s (W_SECONDS): -w at the flood's top rate, drops

usage: sudo python3 bench/sniff_kernel.py [SECONDS] [KiB] [W_SECONDS]
       (default 8, 8192, 15)

For each: datagrams the flood sent, packets each sniffer captured and the
kernel dropped, and CPU seconds each spent (user + system, from wait4),
with the CPU per packet of each and socklab's over tcpdump's (the ratio;
the target is at most 1.00), or socklab's CPU per million packets not
matched. Needs root, tcpdump and iperf3; loopback only; stops by itself.
"""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

from socklab_bin import need, release_binary

SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
KIB = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
W_SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stop(p):
    """SIGINT, then its stderr and CPU seconds (user + system, from wait4)."""
    p.send_signal(signal.SIGINT)
    deadline = time.time() + 20
    ru = None
    while time.time() < deadline:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        p.kill()
        _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    err = p.stderr.read().decode(errors="replace")
    return err, ru.ru_utime + ru.ru_stime


def run_case(binary, name, filt, save_dir, secs=SECS):
    port = free_port()
    flt = filt.format(port=port).split()
    ours_cmd = [binary, "sniff", "-i", "lo", "-B", str(KIB)]
    theirs_cmd = ["tcpdump", "-i", "lo", "-nn", "-B", str(KIB)]
    out = subprocess.DEVNULL
    if save_dir:
        ours_cmd += ["-w", os.path.join(save_dir, "socklab.pcap")]
        theirs_cmd += ["-w", os.path.join(save_dir, "tcpdump.pcap")]
    ours = subprocess.Popen(ours_cmd + flt, stdout=out, stderr=subprocess.PIPE)
    theirs = subprocess.Popen(theirs_cmd + flt, stdout=out, stderr=subprocess.PIPE)
    time.sleep(1.5)
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                              stdout=out, stderr=out)
    time.sleep(0.5)
    r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-u", "-b", "0",
                        "-l", "64", "-t", f"{secs:g}"], capture_output=True, text=True)
    m = re.findall(r"(\d+)/(\d+) \([\d.e+-]+%\)\s+sender", r.stdout)
    sent = int(m[-1][1]) if m and r.returncode == 0 else None
    time.sleep(1.0)
    server.kill()
    server.wait()
    err_ours, cpu_ours = stop(ours)
    err_theirs, cpu_theirs = stop(theirs)
    if not sent:
        sys.exit("benchmark failed: iperf3 sent nothing:\n" + (r.stdout + r.stderr).strip())
    oc = int(need(r"(\d+) packets? captured", err_ours, "socklab sniff's summary").group(1))
    od = int(need(r"(\d+) packets? dropped by the kernel", err_ours, "socklab sniff's summary").group(1))
    tc = int(need(r"(\d+) packets? captured", err_theirs, "tcpdump's summary").group(1))
    td = int(need(r"(\d+) packets? dropped by kernel", err_theirs, "tcpdump's summary").group(1))
    print(f"{name}: filter '{' '.join(flt)}', {sent:,} datagrams in {secs:g} s "
          f"({sent / secs:,.0f}/s)")
    print(f"  socklab sniff -B {KIB}: {oc:>10,} captured {od:>9,} dropped  {cpu_ours:6.2f} CPU-s")
    print(f"  tcpdump -B {KIB}     : {tc:>10,} captured {td:>9,} dropped  {cpu_theirs:6.2f} CPU-s")
    per_m = cpu_ours / (sent / 1e6)
    if oc:
        ours_us, theirs_us = cpu_ours / oc * 1e6, cpu_theirs / max(tc, 1) * 1e6
        print(f"  CPU per packet captured: socklab {ours_us:.2f} us, "
              f"tcpdump {theirs_us:.2f} us, ratio {ours_us / max(theirs_us, 1e-9):.2f} "
              f"(target <= 1.00)")
    else:
        print(f"  socklab CPU per million packets not matched: {per_m:.3f} s (target <= 0.05)")
    return sent, oc, od, cpu_ours, tc, td, cpu_theirs


def main():
    if os.geteuid() != 0:
        sys.exit("needs root: both sniffers open packet sockets")
    for tool in ("tcpdump", "iperf3"):
        if not shutil.which(tool):
            sys.exit(f"needs {tool} (apt-get install {tool})")
    binary = release_binary()
    with tempfile.TemporaryDirectory() as d:
        # socklab writes -w files after dropping privileges (to nobody under
        # plain root), tcpdump as tcpdump: both must be able to write here.
        os.chmod(d, 0o1777)
        run_case(binary, "(a) matching, printing to /dev/null", "udp port {port}", None)
        run_case(binary, "(a') matching, -w", "udp port {port}", d)
        run_case(binary, "(b) matching nothing", "udp port 9", None)
        _, _, od, _, _, td, _ = run_case(binary, f"(c) -w for {W_SECS:g} s", "udp port {port}",
                                         d, W_SECS)
        print(f"  (c) drops: socklab {od:,}, tcpdump {td:,} (target: socklab 0)")


if __name__ == "__main__":
    main()
