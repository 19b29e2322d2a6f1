# count.rb -- Beazley's countdown in Ruby: workloads/count.py's count(n), line for line.
#
# count(n) spends all its time in the interpreter loop (a compare, a subtract, a
# jump per iteration) and never blocks. workloads/peers/peer.rb calls count(N) in
# each thread, through the lab's scenarios:
#   ruby workloads/peers/peer.rb workloads/count.rb --entry count --arg 20000000 --threads 2
# and `ruby workloads/count.rb` runs it once.

def count(n)
  while n > 0
    n -= 1
  end
end

if __FILE__ == $PROGRAM_NAME
  n = 10_000_000
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  count(n)
  puts "count #{n} took #{Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0} s"
end
