# sharedlist.rb -- workloads/sharedlist.py in Ruby: threads that read and write one
# shared array.
#
# walk(n) reads the array's items, stores them back and now and then appends
# and pops; the values in the first SIZE slots never change, so the result is
# the same in every thread and under python3's sharedlist.py. The array is an
# instance variable of the object the file is evaluated in (workloads/peers/
# peer.rb evaluates it afresh for every repetition).
#
#   ruby workloads/peers/peer.rb workloads/sharedlist.rb --entry walk --arg 100000 --threads 2

SIZE = 64

@shared = []
i = 0
while i < SIZE
  @shared << 1000 + i
  i += 1
end

def walk(n)
  total = 0
  i = 0
  while i < n
    k = i % SIZE
    v = @shared[k]
    @shared[k] = v
    total += v
    if i % 8 == 0
      @shared << v
      @shared.pop
    end
    i += 1
  end
  total
end

def sharedlist(n)
  walk(n)
end

if __FILE__ == $PROGRAM_NAME
  puts "walk(100000) = #{walk(100_000)} list length #{@shared.length}"
end
