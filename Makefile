# gillab — one non-recursive Makefile.
#
# Variants, each in its own build directory:
#   build/release   CC (gcc by default), optimised           -> build/release/gillab
#   build/tsan      clang -fsanitize=thread                   -> build/tsan/gillab
#   build/asan      clang -fsanitize=address,undefined        -> build/asan/gillab
# Sources are found by wildcard: a new .c in any part of gil/ (gil/PART/*.c) joins
# the library, except gil/cli/, which is the program itself; a new
# tests/test_NAME.c becomes a cmocka suite.

# ---- settings (override on the command line) ---------------------------------
CC        ?= cc
CLANG     ?= clang
CFLAGS    ?= -O2 -g
LDFLAGS   ?=
PREFIX    ?= /usr/local
DESTDIR   ?=
QUICK     ?=
FUZZ_SECONDS ?= 60

STD_FLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -pthread -MMD -MP -Igil
LIBS       := -pthread -lm
TSAN_FLAGS := -O1 -g -fsanitize=thread
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---- sources -----------------------------------------------------------------
MAIN_SRC  := $(sort $(wildcard gil/cli/*.c))
LIB_SRC   := $(filter-out $(MAIN_SRC),$(sort $(wildcard gil/*/*.c)))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_NAMES := $(patsubst tests/%.c,%,$(TEST_SRC))
VARIANTS  := release tsan asan

# ---- per-variant rules -------------------------------------------------------
# $(1) variant, $(2) compiler, $(3) flags
define variant
$(1)_OBJ := $$(patsubst %.c,build/$(1)/obj/%.o,$$(LIB_SRC))
build/$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC[$(1)] $$<")
	$$(Q)$(2) $$(STD_FLAGS) $(3) $$(CMOCKA_CFLAGS) -c $$< -o $$@
build/$(1)/libgillab.a: $$($(1)_OBJ)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
build/$(1)/gillab: $$(patsubst %.c,build/$(1)/obj/%.o,$$(MAIN_SRC)) build/$(1)/libgillab.a
	@$$(if $$(Q),echo "  LD[$(1)] $$@")
	$$(Q)$(2) $(3) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
build/$(1)/tests/%: build/$(1)/obj/tests/%.o build/$(1)/libgillab.a
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD[$(1)] $$@")
	$$(Q)$(2) $(3) $$(LDFLAGS) -o $$@ $$^ $$(CMOCKA_LIBS) $$(LIBS)
$(1): build/$(1)/gillab $$(addprefix build/$(1)/tests/,$$(TEST_NAMES))
-include $$($(1)_OBJ:.o=.d) $$(patsubst %.c,build/$(1)/obj/%.d,$$(TEST_SRC) $$(MAIN_SRC))
endef

$(eval $(call variant,release,$(CC),$(CFLAGS)))
$(eval $(call variant,tsan,$(CLANG),$(TSAN_FLAGS)))
$(eval $(call variant,asan,$(CLANG),$(ASAN_FLAGS)))

.PHONY: all deps test test-full lab plots sweep bench scale fidelity cow race race-check race-score fuzz clean install $(VARIANTS)
.SECONDARY:

all: release

deps:
	@mk/deps.sh

# Everything the test suite needs, checked (and installed as root) first.
test: deps
	$(Q)$(MAKE) --no-print-directory release tsan asan
	$(Q)tests/run.sh

# make test, then the compiler fuzzer for five minutes (or FUZZ_SECONDS).
test-full: test
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(if $(filter 60,$(FUZZ_SECONDS)),300,$(FUZZ_SECONDS))

lab: deps
	$(Q)mk/deps.sh pypy3 || echo "lab: pypy3 could not be installed; the lab goes on without it" >&2
	$(Q)mk/deps.sh ruby || echo "lab: ruby could not be installed; the lab goes on without it" >&2
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab lab

# make plots [DATA=dir] [OUT=dir] [ONLY=fig,...]: read the CSVs in DATA, write the figures into OUT.
plots: deps
	$(Q)$(MAKE) --no-print-directory release
	$(Q)ONLY="$(ONLY)" DATA="$(or $(DATA),results)" OUT="$(or $(OUT),results)" python3 mk/lab plots

sweep: deps
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab sweep

bench: deps
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab bench

# Every design in each of its policies, and every peer, against threads: results/scale.csv,
# scale.png and a table.
scale: deps
	$(Q)mk/deps.sh pypy3 || echo "scale: pypy3 could not be installed; the runs go on without it" >&2
	$(Q)mk/deps.sh ruby || echo "scale: ruby could not be installed; the runs go on without it" >&2
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab scale

# Every model beside its original (CPython 2.7 and 3, PyPy, Ruby where installed).
fidelity: deps
	$(Q)mk/deps.sh pypy3 || echo "fidelity: pypy3 could not be installed; pypy is compared with nothing" >&2
	$(Q)mk/deps.sh ruby || echo "fidelity: ruby could not be installed; ruby is compared with nothing" >&2
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab fidelity

# Copy-on-write after fork: gillab's refcount policies beside python3 (with and without
# gc.freeze()), pypy3 and CPython 2.7; results/cow.csv, cow.png (python3 mk/lab cow --help).
cow: deps
	$(Q)mk/deps.sh pypy3 || echo "cow: pypy3 could not be installed; the runs go on without it" >&2
	$(Q)$(MAKE) --no-print-directory release
	$(Q)QUICK=$(QUICK) python3 mk/lab cow

race: deps
	$(Q)$(MAKE) --no-print-directory build/tsan/gillab
	$(Q)race/check.py

# make race-check FILE=prog.c EXPECT=verdict: FILE and EXPECT reach the checker as
# data, in its environment. $(value ...) takes them unexpanded, unexport keeps make
# from expanding them for the environment of every recipe, and no shell parses
# them: a file name with quotes, blanks, $ or ` is only a file name.
unexport FILE EXPECT
race-check: export RACE_CHECK_FILE = $(value FILE)
race-check: export RACE_CHECK_EXPECT = $(value EXPECT)
race-check: deps
	$(Q)race/check.py --from-env

race-score: deps
	$(Q)race/check.py --score

fuzz: deps
	@mkdir -p build/fuzz
	$(Q)$(CLANG) $(STD_FLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_compile \
	    tests/fuzz/fuzz_compile.c $(filter gil/vm/% gil/locks/% gil/trace/% gil/base/%,$(LIB_SRC)) $(LIBS)
	@mkdir -p build/fuzz/corpus
	$(Q)cp -n tests/corpus/*.py workloads/*.py build/fuzz/corpus/ 2>/dev/null || true
	$(Q)build/fuzz/fuzz_compile -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -dict=tests/fuzz/python.dict build/fuzz/corpus

install: build/release/gillab
	install -D -m 755 build/release/gillab $(DESTDIR)$(PREFIX)/bin/gillab

clean:
	rm -rf build
