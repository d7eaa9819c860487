# relaytrap — plain GNU make. `make test` and `make demo` set everything up on a fresh Debian machine.
CC      ?= cc
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
OPT     ?= -O2
SAN     ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) $(SAN) -MMD -MP -Icommon -Isink -Iprober $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)
LIBS    := -lev -lpcre2-8 -ljansson -lcrypto -lcares -lpthread

DEB_BUILD := build-essential pkg-config libev-dev libpcre2-dev libjansson-dev libssl-dev libc-ares-dev
DEB_TEST  := libcmocka-dev python3-pytest python3-aiosmtpd swaks postfix iproute2 procps chromium
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
.PHONY: all deps test test-unit test-py asan demo bench clean fmt check-deps
all: $(BINS) $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/relaytrap-sink: $(BUILD)/sink/main.o $(SINK_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/relaytrap: $(BUILD)/prober/main.o $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(PROBER_OBJ) $(SINK_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

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

demo: deps all
	@sh tests/demo.sh $(BUILD)

bench: deps all
	bash bench/sink.sh $(BUILD)
	bash bench/probe.sh $(BUILD)

fmt:
	clang-format -i common/*.[ch] sink/*.[ch] $(wildcard prober/*.[ch]) tests/unit/*.[ch]

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
