# sharedread.rb -- workloads/sharedread.py in Ruby: threads that share data they
# only read.
#
# A table (ROWS arrays of COLS integers) is built once, when the file is
# evaluated, and never written again; walk(n) reads n of its items and sums
# them. The table is an instance variable of the object the file is evaluated
# in: workloads/peers/peer.rb evaluates it afresh in a new object for every
# repetition, as peer.py loads sharedread.py afresh.
#
#   ruby workloads/peers/peer.rb workloads/sharedread.rb --entry walk --arg 100000 --threads 2

ROWS = 64
COLS = 16

@table = []
r = 0
while r < ROWS
  row = []
  c = 0
  while c < COLS
    row << 1000 + r * COLS + c
    c += 1
  end
  @table << row
  r += 1
end

def walk(n)
  total = 0
  i = 0
  while i < n
    row = @table[i % ROWS]
    total += row[i % COLS]
    i += 1
  end
  total
end

def sharedread(n)
  walk(n)
end

if __FILE__ == $PROGRAM_NAME
  puts "walk(100000) = #{walk(100_000)} rows #{@table.length} cols #{@table[0].length}"
end
