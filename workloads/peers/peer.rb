#!/usr/bin/env ruby
# peer.rb -- run a Ruby workload file under the real Ruby, through the lab's
# scenarios, writing rows with exactly the lab's CSV columns.
#
# The Ruby twin of workloads/peers/peer.py: the same scenarios (seq, threads,
# convoy), the same options, the same rules for the CSV. The columns are not
# kept here: they are `gillab csv-header` of the gillab found with --gillab PATH,
# $GILLAB, or this tree's build/release/gillab. The design column names the
# interpreter (ruby-3.1.2, from RUBY_VERSION); every design-parameter and lock
# column stays empty, because a real interpreter does not report its lock's events.
#
#   ruby workloads/peers/peer.rb FILE.rb --entry NAME [--arg V]...
#       [--scenario seq|threads|convoy] [--threads T] [--cpus 1|all|LIST]
#       [--reps R] [--warmup W] [--first-rep N] [--csv FILE] [--samples-csv FILE]
#       [--io-entry NAME] [--io-arg V]... [--design NAME] [--lab-version V]
#       [--gillab PATH] [--quiet]
#   ruby workloads/peers/peer.rb --header       # the CSV header (gillab's)
#   ruby workloads/peers/peer.rb --interpreter  # this interpreter's design name
#   ruby workloads/peers/peer.rb --identify     # its design name and real executable
#
# FILE defines its entry functions with `def` at top level; it is evaluated
# afresh in a new object for every repetition, so instance variables (convoy's
# @done) start unset each time, as peer.py loads a fresh module.
#
# CPU pinning: the sched_setaffinity system call on the main thread, through
# Fiddle, before the workers exist; a new thread inherits its creator's CPU set,
# so every worker runs on exactly those CPUs. The cpu_list column is read back
# with sched_getaffinity. Context switches come from getrusage(RUSAGE_SELF)
# through Fiddle (Ruby's Process.times has no counts of them), over the same
# span as the wall time; so do others_cpu_s and steal_s, how busy the rest of the
# machine was (/proc/stat's busy time less this process's own, and its steal time).
#
# Rows are appended with one write each on an O_APPEND descriptor under an
# exclusive flock: an interrupted run leaves every finished row intact and never
# half a row. The header is written only into a new or empty file; a file with
# another header, or a last line without its newline, is refused (exit 2).
# Exit status: 0 every run ok, 1 a workload raised (its row has status error and
# the message), 2 usage, load or I/O errors.
require "etc"
require "fiddle"
require "rbconfig"
require "socket"

EXIT_RUNTIME = 1
EXIT_USAGE = 2
SCENARIOS = %w[seq threads convoy].freeze
# gillab's scenarios this driver does not run, and why: refused by name.
UNSUPPORTED = {
  "fork" => "the copy-on-write measurement after fork runs under gillab and peer.py " \
            "(Ruby has no translation of workloads/cow.py)"
}.freeze
MAX_THREADS = 256
SAMPLE_COLUMNS = %w[run_id design rep sample latency_us].freeze
HERE = File.dirname(File.expand_path(__FILE__))

USAGE = <<~TEXT
  usage: peer.rb FILE.rb --entry NAME [--arg V]... [options]
         peer.rb --header | --interpreter | --identify
  options (as gillab run):
    --entry NAME          the workload function to call
    --arg V               an integer argument for it (repeatable)
    --scenario S          seq | threads | convoy (default threads)
    --threads T           1..256 (default 1; convoy 2); seq: one thread calls the entry T times
    --cpus C              1 (every thread on one CPU) | all (default) | LIST ("0,1", "0-1")
    --reps R              measured repetitions (default 1)
    --warmup W            unrecorded warm-up repetitions (default 0)
    --first-rep N         number the measured repetitions from N (default 1)
    --csv FILE            append one row per measured repetition
    --samples-csv FILE    convoy: append the I/O thread's lateness samples
    --io-entry NAME       convoy: the I/O thread's function (default io)
    --io-arg V            convoy: an integer argument for it (repeatable)
  peer-only options:
    --design NAME         the design column (default: this interpreter, e.g. ruby-3.1.2)
    --lab-version V       the lab_version column (default: gillab version)
    --gillab PATH         the gillab whose csv-header gives the columns
                          (default: $GILLAB, else this tree's build/release/gillab)
    --quiet               no per-repetition line on stderr
    --interpreter         print this interpreter's design name and exit
    --identify            print its design name and its real executable, tab-separated
TEXT

# A bad command line or input: reported on stderr, exit status 2.
class UsageError < StandardError; end

def say(msg)
  $stderr.write("peer.rb: #{msg}\n")
  $stderr.flush
end

def interpreter_name
  "#{RUBY_ENGINE}-#{RUBY_VERSION}"
end

# The ruby binary itself, past links and version-manager shims.
def real_executable
  File.realpath(RbConfig.ruby)
rescue SystemCallError
  RbConfig.ruby
end

# ---- gillab: the columns and the lab version ---------------------------------------

def find_gillab(given)
  candidates = []
  candidates << [given, "--gillab"] if given
  candidates << [ENV["GILLAB"], "$GILLAB"] if !given && ENV["GILLAB"] && !ENV["GILLAB"].empty?
  candidates << [File.join(HERE, "..", "..", "build", "release", "gillab"), "this tree"] if candidates.empty?
  path, from = candidates.first
  unless File.file?(path) && File.executable?(path)
    raise UsageError, "cannot run gillab at #{path} (from #{from}); build it (make release) " \
                      "or give --gillab PATH / set GILLAB"
  end
  path
end

def gillab_output(gillab, *args)
  out = IO.popen([gillab, *args], err: [:child, :out], &:read)
  raise UsageError, "#{gillab} #{args.join(' ')} failed: #{out.strip}" unless $?.success?
  out
rescue SystemCallError => e
  raise UsageError, "cannot run #{gillab}: #{e.message}"
end

def gillab_columns(gillab)
  line = gillab_output(gillab, "csv-header").lines.first.to_s.chomp
  cols = line.split(",")
  unless cols.include?("design") && cols.include?("workload") && cols.include?("message")
    raise UsageError, "#{gillab} csv-header gave no lab header: #{line[0, 80]}"
  end
  cols
end

def gillab_version(gillab)
  v = gillab_output(gillab, "version").split.last
  raise UsageError, "#{gillab} version printed nothing" unless v
  v
end

# ---- CPU affinity and rusage through Fiddle ------------------------------------------

MASK_BYTES = 128 # 1024 CPUs, glibc's cpu_set_t

module Sys
  LIBC = Fiddle.dlopen(nil)
  SETAFF = Fiddle::Function.new(LIBC["sched_setaffinity"],
                                [Fiddle::TYPE_INT, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_VOIDP], Fiddle::TYPE_INT)
  GETAFF = Fiddle::Function.new(LIBC["sched_getaffinity"],
                                [Fiddle::TYPE_INT, Fiddle::TYPE_SIZE_T, Fiddle::TYPE_VOIDP], Fiddle::TYPE_INT)
  GETRUSAGE = Fiddle::Function.new(LIBC["getrusage"], [Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP], Fiddle::TYPE_INT)
  RUSAGE_SELF = 0
  # struct rusage on Linux: two struct timeval, then 14 longs (ru_maxrss ...
  # ru_nvcsw, ru_nivcsw); every member is a native long.
  RUSAGE_LONGS = 18

  def self.errno_text
    Fiddle.last_error ? SystemCallError.new(Fiddle.last_error).message : "failed"
  end

  # The calling thread's CPUs (pid 0 is the calling thread).
  def self.affinity
    mask = Fiddle::Pointer.malloc(MASK_BYTES, Fiddle::RUBY_FREE)
    raise UsageError, "sched_getaffinity: #{errno_text}" if GETAFF.call(0, MASK_BYTES, mask) != 0
    bytes = mask.to_s(MASK_BYTES).bytes
    (0...MASK_BYTES * 8).select { |i| (bytes[i / 8] >> (i % 8)) & 1 == 1 }
  end

  def self.pin(cpus)
    bytes = Array.new(MASK_BYTES, 0)
    cpus.each { |c| bytes[c / 8] |= 1 << (c % 8) }
    mask = Fiddle::Pointer.malloc(MASK_BYTES, Fiddle::RUBY_FREE)
    mask[0, MASK_BYTES] = bytes.pack("C*")
    raise UsageError, "sched_setaffinity #{cpus.join(',')}: #{errno_text}" if SETAFF.call(0, MASK_BYTES, mask) != 0
  end

  # [user_s, sys_s, voluntary, involuntary] of the whole process so far.
  def self.rusage
    buf = Fiddle::Pointer.malloc(RUSAGE_LONGS * Fiddle::SIZEOF_LONG, Fiddle::RUBY_FREE)
    raise "getrusage: #{errno_text}" if GETRUSAGE.call(RUSAGE_SELF, buf) != 0
    v = buf.to_s(RUSAGE_LONGS * Fiddle::SIZEOF_LONG).unpack("l!#{RUSAGE_LONGS}")
    [v[0] + v[1] / 1e6, v[2] + v[3] / 1e6, v[16], v[17]]
  end
end

# ---- command line --------------------------------------------------------------------

def parse_int(opt, text)
  Integer(text, 10)
rescue ArgumentError, TypeError
  raise UsageError, "#{opt} '#{text}': expected an integer"
end

# --cpus value -> [column text, sorted CPUs to run on]
def parse_cpus(text, allowed)
  allowed = allowed.sort
  return ["all", allowed] if text == "all"
  return ["1", allowed.first(1)] if text == "1"
  cpus = []
  text.split(",").each do |part|
    lo_hi = part.strip.split("-", -1)
    bad = "--cpus '#{text}': expected 1, all, or a list such as 0,1 or 0-1"
    raise UsageError, bad unless [1, 2].include?(lo_hi.length) && lo_hi.all? { |x| x =~ /\A\d+\z/ }
    lo = lo_hi[0].to_i
    hi = lo_hi[-1].to_i
    raise UsageError, "--cpus '#{text}': bad range '#{part.strip}'" if hi < lo
    cpus.concat((lo..hi).to_a)
  end
  cpus = cpus.uniq.sort
  outside = cpus - allowed
  unless outside.empty?
    raise UsageError, "--cpus '#{text}': CPU #{outside.join(' ')} is not available; " \
                      "this process may use #{allowed.join(' ')}"
  end
  [cpus.join(" "), cpus]
end

def parse_args(argv)
  o = { file: nil, entry: nil, args: [], scenario: "threads", threads: nil, cpus: "all", reps: 1,
        warmup: 0, first_rep: 1, csv: nil, samples_csv: nil, io_entry: nil, io_args: [], design: nil,
        lab_version: nil, gillab: nil, quiet: false, header: false, interpreter: false,
        identify: false }
  takes_value = { "--entry" => :entry, "--arg" => :args, "--scenario" => :scenario, "--threads" => :threads,
                  "--cpus" => :cpus, "--reps" => :reps, "--warmup" => :warmup, "--first-rep" => :first_rep,
                  "--csv" => :csv, "--samples-csv" => :samples_csv, "--io-entry" => :io_entry,
                  "--io-arg" => :io_args, "--design" => :design, "--lab-version" => :lab_version,
                  "--gillab" => :gillab }
  lab_only = %w[--gil --set --trace --trace-json]
  i = 0
  while i < argv.length
    a = argv[i]
    case a
    when "-h", "--help"
      $stdout.write(USAGE)
      exit 0
    when "--header" then o[:header] = true
    when "--interpreter" then o[:interpreter] = true
    when "--identify" then o[:identify] = true
    when "--quiet" then o[:quiet] = true
    when *lab_only
      raise UsageError, "#{a}: a peer interpreter has its own lock and no lock trace; #{a} is an option of gillab run"
    else
      if takes_value.key?(a)
        raise UsageError, "option #{a} needs a value" if i + 1 >= argv.length
        i += 1
        key = takes_value[a]
        val = argv[i]
        case key
        when :args, :io_args then o[key] << parse_int(a, val)
        when :threads, :reps, :warmup, :first_rep then o[key] = parse_int(a, val)
        else o[key] = val
        end
      elsif a.start_with?("-") && a != "-"
        raise UsageError, "unknown option '#{a}'; see peer.rb --help"
      elsif o[:file]
        raise UsageError, "unexpected argument '#{a}' (the file is '#{o[:file]}')"
      else
        o[:file] = a
      end
    end
    i += 1
  end
  return o if o[:header] || o[:interpreter] || o[:identify]
  raise UsageError, "missing FILE; usage: peer.rb FILE.rb --entry NAME [--arg V]..." unless o[:file]
  raise UsageError, "missing --entry NAME: the function of #{o[:file]} to run" unless o[:entry]
  if UNSUPPORTED.key?(o[:scenario])
    raise UsageError, "--scenario #{o[:scenario]}: gillab runs this scenario, but peer.rb does not " \
                      "support it: #{UNSUPPORTED[o[:scenario]]} (peer.rb runs: #{SCENARIOS.join(', ')})"
  end
  unless SCENARIOS.include?(o[:scenario])
    raise UsageError, "--scenario: unknown scenario '#{o[:scenario]}'; scenarios: #{SCENARIOS.join(', ')}"
  end
  if o[:scenario] == "convoy"
    o[:threads] ||= 2
    unless (2..MAX_THREADS).cover?(o[:threads])
      raise UsageError, "--scenario convoy: needs --threads 2..#{MAX_THREADS} (CPU threads + 1 I/O thread), " \
                        "got #{o[:threads]}"
    end
    o[:io_entry] ||= "io"
  else
    if o[:io_entry] || !o[:io_args].empty? || o[:samples_csv]
      raise UsageError, "--io-entry, --io-arg and --samples-csv need --scenario convoy"
    end
    o[:threads] ||= 1
    raise UsageError, "--threads #{o[:threads]}: expected 1..#{MAX_THREADS}" unless (1..MAX_THREADS).cover?(o[:threads])
  end
  raise UsageError, "--reps #{o[:reps]}: expected at least 1" if o[:reps] < 1
  raise UsageError, "--warmup #{o[:warmup]}: expected 0 or more" if o[:warmup].negative?
  raise UsageError, "--first-rep #{o[:first_rep]}: expected at least 1" if o[:first_rep] < 1
  o
end

# ---- CSV -------------------------------------------------------------------------------

# One field: "" for nil. The free-text message column is quoted per RFC 4180 when
# it holds a comma or a quote; in every other column a comma or quote becomes '_'
# (as gillab writes them). Line breaks never survive.
def csv_field(value, free_text)
  return "" if value.nil?
  s = value.to_s.tr("\r\n", "  ")
  return s.tr(",\"", "__") unless free_text
  s = "\"#{s.gsub('"', '""')}\"" if s.include?(",") || s.include?('"')
  s
end

def csv_line(values, columns)
  values.zip(columns).map { |v, c| csv_field(v, c == "message") }.join(",") + "\n"
end

# A header peers may append to: the lab's columns, whatever design-parameter
# columns sit between design and workload (peers leave them empty).
def compatible?(have, want)
  return false unless have.include?("design") && have.include?("workload")
  cut = ->(cols) { [cols[0..cols.index("design")], cols[cols.index("workload")..]] }
  cut.call(have) == cut.call(want)
end

# A lab CSV opened for appending (see the file's opening comment).
class CsvFile
  attr_reader :columns

  def initialize(path, columns)
    @path = path
    @wrote = false
    existed = File.exist?(path)
    begin
      @f = File.open(path, File::WRONLY | File::APPEND | File::CREAT, 0o644)
    rescue SystemCallError => e
      raise UsageError, "#{path}: cannot open for appending: #{e.message}"
    end
    @created = !existed
    @columns = columns.dup
    return if @f.stat.size.zero?
    first, last = File.open(path, "rb") do |r|
      line = r.gets.to_s.chomp
      r.seek(-1, IO::SEEK_END)
      [line, r.read(1)]
    end
    have = first.split(",", -1)
    problem = nil
    if have != columns && !(columns.include?("design") && compatible?(have, columns))
      at = (0...[have.length, columns.length].max).find { |k| have[k] != columns[k] } || 0
      problem = "its header differs from this lab's columns (column #{at + 1} is '#{have[at]}', " \
                "expected '#{columns[at]}'); write to a new file or move this one away"
    elsif last != "\n"
      problem = "its last line is incomplete; move the file away"
    end
    if problem
      close
      raise UsageError, "#{path}: #{problem}"
    end
    @columns = have
  end

  # The whole text in one write under an exclusive lock; the header goes first
  # into an empty file.
  def append(text)
    @f.flock(File::LOCK_EX)
    begin
      text = @columns.join(",") + "\n" + text if @f.stat.size.zero?
      data = text.b
      data = data.byteslice(@f.syswrite(data)..) until data.empty?
      @wrote = true
    ensure
      @f.flock(File::LOCK_UN)
    end
  end

  # Close; a file this process created and never wrote to is removed.
  def close
    return unless @f
    File.unlink(@path) if @created && !@wrote && @f.stat.size.zero?
    @f.close
    @f = nil
  rescue SystemCallError
    @f&.close
    @f = nil
  end
end

# ---- the workload ------------------------------------------------------------------------

# FILE evaluated in a new object: its top-level defs become that object's methods.
def load_workload(path)
  obj = Object.new
  begin
    obj.instance_eval(File.read(path), path, 1)
  rescue SyntaxError => e
    raise UsageError, e.message.lines.first.to_s.chomp
  rescue SystemCallError => e
    raise UsageError, "#{path}: #{e.message}"
  rescue StandardError, ScriptError => e
    raise UsageError, "#{path}: loading it failed: #{e.class}: #{e.message}"
  end
  obj
end

def check_workload(path, o)
  raise UsageError, "#{path}: no such file" unless File.file?(path)
  obj = load_workload(path)
  wanted = [[o[:entry], o[:args].length, "--entry"]]
  wanted << [o[:io_entry], o[:io_args].length, "--io-entry"] if o[:scenario] == "convoy"
  wanted.each do |name, nargs, opt|
    unless obj.respond_to?(name, true) && obj.singleton_methods.include?(name.to_sym)
      raise UsageError, "#{opt} #{name}: #{File.basename(path)} defines no function '#{name}'"
    end
    arity = obj.method(name).arity
    if arity >= 0 ? arity != nargs : nargs < -arity - 1
      raise UsageError, "#{opt} #{name}: #{name}() takes #{arity.abs} argument(s), #{nargs} given"
    end
  end
end

def describe_error(e)
  msg = e.message.to_s.lines.first.to_s.chomp
  msg.empty? ? e.class.name : "#{e.class}: #{msg}"
end

def now_s
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

Outcome = Struct.new(:wall_s, :user_s, :sys_s, :nvcsw, :nivcsw, :error, :samples, :others_s, :steal_s)

# [busy, steal] CPU seconds of the whole machine so far, from /proc/stat, or nil (as
# gillab's runner/load.c and peer.py read them).
def machine_load
  fields = File.open("/proc/stat", &:gets).to_s.split
  hz = Etc.sysconf(Etc::SC_CLK_TCK).to_f
  user, nice, system, _idle, _iowait, irq, softirq, steal = fields[1, 8].map { |x| Integer(x, 10) }
  return nil unless steal && hz.positive?

  [(user + nice + system + irq + softirq) / hz, steal / hz]
rescue SystemCallError, ArgumentError, TypeError
  nil
end

# One repetition of the scenario on a freshly evaluated workload.
def run_once(obj, o)
  scenario = o[:scenario]
  jobs = case scenario
         when "seq" then [[o[:entry], o[:args], o[:threads], 0]]
         when "threads" then Array.new(o[:threads]) { [o[:entry], o[:args], 1, 0] }
         else
           ncpu = o[:threads] - 1
           Array.new(ncpu) { [o[:entry], o[:args], 1, 0] } + [[o[:io_entry], o[:io_args], 1, ncpu]]
         end
  go = Queue.new          # the start line: one token per worker
  cpu_begun = Queue.new   # convoy: each CPU thread's token for the I/O thread
  results = Array.new(jobs.length)
  threads = jobs.each_with_index.map do |(fname, args, times, wait_for), idx|
    Thread.new do
      Thread.current.report_on_exception = false
      begin
        go.pop
        wait_for.times { cpu_begun.pop }
        cpu_begun.push(true) if scenario == "convoy" && wait_for.zero?
        value = nil
        times.times { value = obj.send(fname, *args) }
        results[idx] = [nil, value]
      rescue Exception => e # a workload error ends this thread, not the run
        results[idx] = [describe_error(e), nil]
      end
    end
  end
  load0 = machine_load
  r0 = Sys.rusage
  t0 = now_s
  jobs.length.times { go.push(true) }
  threads.each(&:join)
  t1 = now_s
  r1 = Sys.rusage
  load1 = machine_load
  out = Outcome.new(t1 - t0, r1[0] - r0[0], r1[1] - r0[1], r1[2] - r0[2], r1[3] - r0[3], nil, nil)
  if load0 && load1
    # what other processes took meanwhile: the machine's busy time less ours
    out.others_s = [0.0, (load1[0] - load0[0]) - (out.user_s + out.sys_s)].max
    out.steal_s = [0.0, load1[1] - load0[1]].max
  end
  results.each do |err, _|
    out.error ||= err
  end
  results.each { |r| out.error ||= "thread ended without a result" if r.nil? }
  if scenario == "convoy" && out.error.nil?
    samples = results.last[1]
    if samples.is_a?(Array) && samples.all? { |x| x.is_a?(Integer) }
      out.samples = samples
    else
      out.error = "convoy: #{o[:io_entry]}() must return an array of integers (its wake-up latencies in us); " \
                  "got #{samples.inspect[0, 80]}"
    end
  end
  out
end

def percentile(sorted, p)
  k = [1, (p / 100.0 * sorted.length).ceil].max
  sorted[k - 1]
end

# ---- the program ---------------------------------------------------------------------------

def main(argv)
  o = parse_args(argv)
  if o[:interpreter]
    $stdout.write("#{o[:design] || interpreter_name}\n")
    return 0
  end
  if o[:identify]
    $stdout.write("#{interpreter_name}\t#{real_executable}\n")
    return 0
  end
  gillab = find_gillab(o[:gillab])
  columns = gillab_columns(gillab)
  if o[:header]
    $stdout.write(columns.join(",") + "\n")
    return 0
  end
  design = o[:design] || interpreter_name
  lab_version = o[:lab_version] || gillab_version(gillab)
  cpus_text, cpus = parse_cpus(o[:cpus], Sys.affinity)
  check_workload(o[:file], o)
  files = []
  begin
    out_csv = o[:csv] && CsvFile.new(o[:csv], columns)
    files << out_csv
    samples_csv = o[:samples_csv] && CsvFile.new(o[:samples_csv], SAMPLE_COLUMNS)
    files << samples_csv
    run_reps(o, design, lab_version, cpus_text, cpus, out_csv, samples_csv, columns)
  ensure
    files.compact.each(&:close)
  end
end

def run_reps(o, design, lab_version, cpus_text, cpus, out_csv, samples_csv, columns)
  columns = out_csv.columns if out_csv
  # Pin the main thread before the workers exist: they inherit its CPU set.
  Sys.pin(cpus)
  cpu_list = Sys.affinity
  host = Socket.gethostname
  stamp = Time.now.utc.strftime("%Y%m%dT%H%M%SZ")
  counter = 0
  failures = 0
  o[:warmup].times { run_once(load_workload(o[:file]), o) }
  o[:reps].times do |k|
    rep = o[:first_rep] + k
    started = Time.now.utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = run_once(load_workload(o[:file]), o)
    counter += 1
    run_id = "#{stamp}-#{Process.pid}-#{counter}"
    row = {
      "run_id" => run_id, "lab_version" => lab_version, "started_utc" => started, "host" => host,
      "design" => design, "workload" => File.basename(o[:file]), "entry" => o[:entry],
      "args" => o[:args].join(" "), "scenario" => o[:scenario], "threads" => o[:threads],
      "placement" => { "all" => "all", "1" => "one" }.fetch(o[:cpus], "list"), "cpus" => cpus_text,
      "ncpus" => cpu_list.length, "cpu_list" => cpu_list.join(" "), "rep" => rep,
      "wall_s" => format("%.6f", out.wall_s), "user_s" => format("%.6f", out.user_s),
      "sys_s" => format("%.6f", out.sys_s), "ctx_voluntary" => out.nvcsw, "ctx_involuntary" => out.nivcsw,
      "others_cpu_s" => out.others_s && format("%.6f", out.others_s),
      "steal_s" => out.steal_s && format("%.6f", out.steal_s),
      "status" => out.error ? "error" : "ok", "message" => out.error
    }
    if out.samples
      s = out.samples.sort
      row["io_iters"] = s.length
      row["io_iters_per_s"] = format("%.3f", out.wall_s.positive? ? s.length / out.wall_s : 0.0)
      unless s.empty?
        row["latency_p50_us"] = percentile(s, 50)
        row["latency_p90_us"] = percentile(s, 90)
        row["latency_p99_us"] = percentile(s, 99)
        row["latency_max_us"] = s[-1]
      end
      if samples_csv && !out.samples.empty?
        samples_csv.append(out.samples.each_with_index.map do |x, i|
          csv_line([run_id, design, rep, i + 1, x], samples_csv.columns)
        end.join)
      end
    end
    failures += 1 if out.error
    out_csv&.append(csv_line(columns.map { |c| row[c] }, columns))
    next if o[:quiet] && out.error.nil?

    extra = out.samples && !out.samples.empty? ? ", io #{out.samples.length} iters, latency p50 #{row['latency_p50_us']} us" : ""
    say(format("%s %s %s threads=%d cpus=%s rep %d: wall %.3f s, user %.3f s, sys %.3f s%s%s", design,
               File.basename(o[:file]), o[:scenario], o[:threads], cpus_text, rep, out.wall_s, out.user_s,
               out.sys_s, extra, out.error ? ", error: #{out.error}" : ""))
  end
  failures.positive? ? EXIT_RUNTIME : 0
end

if $PROGRAM_NAME == __FILE__
  status = begin
    main(ARGV)
  rescue UsageError => e
    say(e.message)
    EXIT_USAGE
  rescue Interrupt
    say("interrupted; rows already written are complete")
    130
  end
  $stdout.flush
  $stderr.flush
  # exit!: workers of an interrupted run must not hold the exit up.
  exit!(status)
end
