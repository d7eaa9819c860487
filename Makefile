# relaytrap — plain GNU make. `make test` and `make demo` set everything up on a fresh Debian machine.
CC      ?= cc
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
OPT     ?= -O2
SAN     ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) $(SAN) -MMD -MP -Icommon -Isink -Iprober \
           -I$(BUILD)/gen $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)
LIBS    := -lev -lpcre2-8 -ljansson -lssl -lcrypto -lcares -lpthread

DEB_BUILD := build-essential pkg-config libev-dev libpcre2-dev libjansson-dev libssl-dev libc-ares-dev
DEB_TEST  := libcmocka-dev python3-pytest python3-aiosmtpd swaks postfix iproute2 procps chromium mandoc nmap clang valgrind openssl libidn12 util-linux parallel
STAMP     := $(BUILD)/.deps-ok

COMMON_SRC := $(wildcard common/*.c)
SINK_SRC   := $(filter-out sink/main.c,$(wildcard sink/*.c))
PROBER_SRC := $(filter-out prober/main.c,$(wildcard prober/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
SINK_OBJ   := $(call obj,$(SINK_SRC))
PROBER_OBJ := $(call obj,$(PROBER_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

BINS := $(BUILD)/relaytrap-sink
ifneq ($(wildcard prober/main.c),)
BINS += $(BUILD)/relaytrap
endif

.SECONDARY:
.PHONY: all deps test test-unit test-py asan demo bench clean fmt check-deps install uninstall \
	fuzz fuzz-build valgrind lab-results
all: $(BINS) $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The data files in conf/ that are also the compiled-in defaults, as C string literals
# (prober/confdata.c includes them): the file is the one source. '?' is escaped so that no
# "??x" in a pattern becomes a trigraph.
CONF_BUILTIN := fingerprints.conf advisories.conf advice.conf notice.txt
CONF_INC     := $(patsubst %,$(BUILD)/gen/%.inc,$(CONF_BUILTIN))
$(BUILD)/gen/%.inc: conf/%
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp
	echo '""' >> $@.tmp && mv $@.tmp $@
$(BUILD)/prober/confdata.o: $(CONF_INC)

$(BUILD)/relaytrap-sink: $(BUILD)/sink/main.o $(SINK_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/relaytrap: $(BUILD)/prober/main.o $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang in build-fuzz by `make fuzz`.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer -o $@ $< $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ) \
	  $(LDFLAGS) $(LIBS)

# Installs missing Debian packages (non-interactive) when root; prints the command otherwise.
deps: $(STAMP)
$(STAMP):
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	  else echo "missing packages; run as root:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; fi; fi
	@mkdir -p $(BUILD) && touch $@

test: deps
	$(MAKE) all
	$(MAKE) test-unit test-py

test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test-py: $(BINS)
	RELAYTRAP_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build tree.
asan: deps
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  RELAYTRAP_ASAN=1 test-unit test-py

# The integration smoke test under valgrind memcheck (tests/valgrind.sh).
valgrind: deps all
	sh tests/valgrind.sh $(BUILD)

demo: deps all
	@sh tests/demo.sh $(BUILD)

bench: deps all
	bash bench/sink.sh $(BUILD)
	bash bench/probe.sh $(BUILD)
	bash bench/scale.sh $(BUILD)
	bash bench/latency.sh $(BUILD)

# Real Postfix, Exim and OpenSMTPD on loopback, scanned by nmap and relaytrap: docs/lab-results.md
lab-results: deps all
	BUILD=$(BUILD) PYTHON=$(PYTHON) bash tests/lab/compare.sh docs/lab-results.md

# make fuzz FUZZ_SECONDS=N: every target for N seconds from its committed seeds
# (tests/fuzz/corpus/NAME, read only) plus a working corpus in build-fuzz/corpus/NAME; a crash
# is saved in build-fuzz/crashes/ and fails the run.
FUZZ_SECONDS ?= 30
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
fuzz-build: deps
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -gline-tables-only" SAN="$(FUZZ_SAN)" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" $(patsubst tests/fuzz/%.c,build-fuzz/fuzz/%,$(FUZZ_SRC))
fuzz: fuzz-build
	@set -e; mkdir -p build-fuzz/crashes; for src in $(FUZZ_SRC); do \
	  t=$$(basename $$src .c); mkdir -p build-fuzz/corpus/$$t; \
	  dict=""; [ -f tests/fuzz/$$t.dict ] && dict="-dict=tests/fuzz/$$t.dict"; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$t- $$dict \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t > build-fuzz/$$t.log 2>&1 \
	    || { tail -40 build-fuzz/$$t.log; echo "FUZZ FAILED: $$t"; exit 1; }; \
	  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE" build-fuzz/$$t.log | tr '\n' ' '; echo; \
	done

# make install PREFIX=/usr/local DESTDIR= : programs, man pages, conf/ examples (to
# $(PREFIX)/share/relaytrap, and to $(SYSCONFDIR)/relaytrap only where absent), systemd unit.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR     := $(PREFIX)/bin
MANDIR     := $(PREFIX)/share/man
SHAREDIR   := $(PREFIX)/share/relaytrap
UNITDIR    ?= $(PREFIX)/lib/systemd/system
CONF_FILES := conf/relaytrap.conf conf/relaytrap-sink.conf conf/tests.conf conf/message.txt \
              $(patsubst %,conf/%,$(CONF_BUILTIN))

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(SYSCONFDIR)/relaytrap \
	  $(DESTDIR)$(UNITDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 docs/relaytrap.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/relaytrap.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/relaytrap-sink.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(CONF_FILES) $(DESTDIR)$(SHAREDIR)/
	@for f in relaytrap.conf relaytrap-sink.conf; do \
	  if [ -e $(DESTDIR)$(SYSCONFDIR)/relaytrap/$$f ]; then \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/relaytrap/$$f (the new one is in $(SHAREDIR))"; \
	  else install -m 644 conf/$$f $(DESTDIR)$(SYSCONFDIR)/relaytrap/$$f; fi; done
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  conf/relaytrap-sink.service.in > $(DESTDIR)$(UNITDIR)/relaytrap-sink.service
	chmod 644 $(DESTDIR)$(UNITDIR)/relaytrap-sink.service

# Leaves $(SYSCONFDIR)/relaytrap alone: it holds the administrator's settings (and key).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/relaytrap $(DESTDIR)$(BINDIR)/relaytrap-sink \
	  $(DESTDIR)$(MANDIR)/man1/relaytrap.1 $(DESTDIR)$(MANDIR)/man5/relaytrap.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/relaytrap-sink.8 $(DESTDIR)$(UNITDIR)/relaytrap-sink.service
	rm -rf $(DESTDIR)$(SHAREDIR)
	@echo "left $(DESTDIR)$(SYSCONFDIR)/relaytrap in place (your configuration)"

fmt:
	clang-format -i common/*.[ch] sink/*.[ch] $(wildcard prober/*.[ch]) tests/unit/*.[ch]

clean:
	rm -rf build build-asan build-fuzz build-lab

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
