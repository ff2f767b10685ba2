# pscope — GNU make, pkg-config for every library.
#   make            build ./pscope
#   make test       unit tests (cmocka) + integration tests on real processes
#   make asan       build build/asan/pscope with ASan and UBSan
#   make test-asan  the whole test suite against the sanitizer build
#   make demo       start the bundled leaky demo process and watch it
#   make bench      compare pscope's sampling cost with lsof, top and htop
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
VERSION := 0.1.0

CC      ?= cc
PKGS    := libproc2 ncursesw inih libunwind-ptrace libunwind-generic libdw libelf
CFLAGS  ?= -O2 -g
WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -DPSCOPE_VERSION=\"$(VERSION)\" -Isrc -Iui

# BUILD and BIN can be overridden so that several builds share one tree.
ifeq ($(SANITIZE),1)
BUILD   ?= build/asan
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BIN     ?= $(BUILD)/pscope
else
BUILD   ?= build/rel
BIN     ?= pscope
endif

DEPS_OK := build/.deps-ok
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CORE_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
UI_SRC   := $(wildcard ui/*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/src/%.o) $(UI_SRC:ui/%.c=$(BUILD)/ui/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TARGET_SRC := $(wildcard tests/targets/*.c)
TARGET_BIN := $(TARGET_SRC:tests/targets/%.c=build/targets/%)

.PHONY: all deps test unit integration asan test-asan demo bench install clean

all: $(BIN)

# The dependency check runs once per checkout; delete build/ to run it again.
$(DEPS_OK):
	@sh .ci/deps.sh
	@mkdir -p build && touch $@
deps:
	@sh .ci/deps.sh

$(BUILD)/src/%.o: src/%.c $(wildcard src/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/ui/%.o: ui/%.c $(wildcard src/*.h ui/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BIN): $(CORE_OBJ) $(MAIN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(PKG_CFLAGS) $$(pkg-config --cflags cmocka) \
		-DFIXTURES=\"$(CURDIR)/tests/fixtures\" -o $@ $< $(CORE_OBJ) \
		$(LDFLAGS) $(PKG_LIBS) $$(pkg-config --libs cmocka) -lm

# Test targets are ordinary programs: never sanitized, built once for both runs.
build/targets/%: tests/targets/%.c $(wildcard tests/targets/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -lm

# Each suite prints its own 'N passed, N failed' line; run_suites.py adds
# them up into the closing line.
UNIT_CMD        = python3 tests/unit/run_unit.py $(UNIT_BIN)
INTEGRATION_CMD = python3 tests/integration/run.py --pscope $(abspath $(BIN)) --targets build/targets

unit: $(UNIT_BIN)
	@$(UNIT_CMD)

integration: $(BIN) $(TARGET_BIN)
	@$(INTEGRATION_CMD)

test: | $(DEPS_OK)
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(BIN) $(TARGET_BIN)
	@python3 tests/run_suites.py "$(UNIT_CMD)" "$(INTEGRATION_CMD)"

asan:
	@$(MAKE) --no-print-directory SANITIZE=1 all

test-asan:
	@$(MAKE) --no-print-directory SANITIZE=1 test

demo: $(BIN) build/targets/demo
	@sh tests/demo.sh $(abspath $(BIN)) build/targets/demo

bench: $(BIN) build/targets/fat build/targets/small
	@python3 tests/bench/bench.py --pscope $(abspath $(BIN)) --targets build/targets

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/pscope
	install -m 644 man/pscope.1 $(DESTDIR)$(MANDIR)/man1/pscope.1

clean:
	rm -rf build pscope
