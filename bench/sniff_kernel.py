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
import os, sys, tempfile

from common import counts, free_port, iperf3_flood, need_root, start_sniffers, stop
from socklab_bin import release_binary

SECS = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
KIB = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
W_SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0


def run_case(binary, name, filt, save_dir, secs=SECS):
    port = free_port()
    flt = filt.format(port=port).split()
    ours_cmd = [binary, "sniff", "-i", "lo", "-B", str(KIB)]
    theirs_cmd = ["tcpdump", "-i", "lo", "-nn", "-B", str(KIB)]
    if save_dir:
        ours_cmd += ["-w", os.path.join(save_dir, "socklab.pcap")]
        theirs_cmd += ["-w", os.path.join(save_dir, "tcpdump.pcap")]
    ours, theirs = start_sniffers(ours_cmd + flt, theirs_cmd + flt)
    sent, said = iperf3_flood(port, secs)
    err_ours, cpu_ours = stop(ours)
    err_theirs, cpu_theirs = stop(theirs)
    if not sent:
        sys.exit("benchmark failed: iperf3 sent nothing:\n" + said)
    oc, od, tc, td = counts(err_ours, err_theirs)
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
    need_root("tcpdump", "iperf3")
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
