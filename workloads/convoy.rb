# convoy.rb -- workloads/convoy.py in Ruby: a CPU-bound thread beside an I/O-style
# thread, the convoy effect.
#
# io(n, sleep_us) blocks n times (a sleep, which releases Ruby's GVL as any
# blocking call does) and records for each wake-up how late it got going again,
# in microseconds: the time it waited for the GVL after the sleep ended, plus the
# OS's own wake-up delay. Beside cpu() under Ruby 2.6-3.2 each wake-up waits for
# the rest of a 100 ms time quantum.
#
# cpu(limit) counts until io() is done (or until limit, so it always ends).
# The flag is an instance variable of the object the file is evaluated in:
# workloads/peers/peer.rb evaluates it afresh in a new object for every
# repetition, as peer.py loads convoy.py afresh (a fresh `done`).
#
#   ruby workloads/peers/peer.rb workloads/convoy.rb --scenario convoy --entry cpu \
#       --arg 100000000000 --io-entry io --io-arg 50 --io-arg 1000

def io(n, sleep_us)
  lateness = []
  i = 0
  while i < n
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    sleep(sleep_us / 1_000_000.0)
    late = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1_000_000).to_i - sleep_us
    lateness << late
    # a little work per request, as a server would do
    k = 0
    while k < 200
      k += 1
    end
    i += 1
  end
  @done = true
  lateness
end

def cpu(limit)
  n = 0
  while !@done && n < limit
    n += 1
  end
  n
end

if __FILE__ == $PROGRAM_NAME
  # Run as a program, the I/O loop runs alone: its lateness is only the OS's
  # own wake-up delay, the baseline the convoy is measured against.
  n = 50
  sleep_us = 1000
  s = io(n, sleep_us).sort
  puts "io alone: #{s.length} wake-ups of #{sleep_us} us; lateness p50 #{s[(s.length * 50 + 99) / 100 - 1]} us, " \
       "p90 #{s[(s.length * 90 + 99) / 100 - 1]} us, max #{s[-1]} us"
end
