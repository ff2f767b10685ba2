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
# Compiled into pscope as a plugin search directory: build and install with
# the same PREFIX.
PLUGINDIR ?= $(PREFIX)/lib/pscope/plugins
VERSION := 0.1.0

CC      ?= cc
PKGS    := libproc2 ncursesw inih libunwind-ptrace libunwind-generic libdw libelf libdeflate
CFLAGS  ?= -O2 -g
WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -DPSCOPE_VERSION=\"$(VERSION)\" -Isrc -Iui -Iplugins
CPPFLAGS += -DPSCOPE_PLUGIN_DIR=\"$(PLUGINDIR)\"

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
# libproc2 (src/proc2.c) and libstdc++'s demangler (src/symbols.c) are
# opened with dlopen where needed, not linked: they cost every start 4 ms.
PKG_LIBS   = $(shell pkg-config --libs $(filter-out libproc2,$(PKGS)))

CORE_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
UI_SRC   := $(wildcard ui/*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/src/%.o) $(UI_SRC:ui/%.c=$(BUILD)/ui/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TARGET_SRC := $(wildcard tests/targets/*.c)
TARGET_BIN := $(TARGET_SRC:tests/targets/%.c=build/targets/%)
# stacky again at other optimizations, and its C++ sibling (stack tests).
TARGET_BIN += build/targets/stacky-O0 build/targets/stacky-O2-nofp build/targets/stacky_cpp
# Go test targets: tests/go/NAME/ -> build/targets/goNAME and goNAME-stripped.
GO_TARGETS := $(patsubst tests/go/%/go.mod,%,$(wildcard tests/go/*/go.mod))
GO_TARGET_BIN := $(GO_TARGETS:%=build/targets/go%) $(GO_TARGETS:%=build/targets/go%-stripped)
# Plugins: every plugins/NAME/ with C sources becomes build/plugins/NAME.so;
# tests/plugins/NAME.c become build/test-plugins/NAME.so.  Their pure parsers
# (plugins/*/*_parse.c) are also linked into the unit tests.
PLUGIN_SO  := $(patsubst plugins/%/,build/plugins/%.so,$(sort $(dir $(wildcard plugins/*/*.c))))
TEST_PLUGIN_SO := $(patsubst tests/plugins/%.c,build/test-plugins/%.so,$(wildcard tests/plugins/*.c))
PARSE_OBJ  := $(patsubst plugins/%.c,$(BUILD)/plugins/%.o,$(wildcard plugins/*/*_parse.c))
PLUGIN_FLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wformat=2 -O2 -g -fPIC -shared -Iplugins

.PHONY: all deps test unit integration asan test-asan demo bench install clean

all: $(BIN) $(PLUGIN_SO)

# The dependency check runs once per checkout, and again when its list changes.
$(DEPS_OK): .ci/deps.sh
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

# Kept between runs: make would delete them as intermediate files.
.SECONDARY: $(PARSE_OBJ)
$(BUILD)/plugins/%.o: plugins/%.c $(wildcard plugins/*.h plugins/*/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# Plugins are never sanitized: an ASan pscope dlopens them as they are.
.SECONDEXPANSION:
build/plugins/%.so: $$(wildcard plugins/%/*.c plugins/%/*.h) plugins/pscope_plugin.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) -o $@ $(filter %.c,$^)

build/test-plugins/%.so: tests/plugins/%.c plugins/pscope_plugin.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) -o $@ $<

# The Go plugin reads the executable's ELF sections and DWARF.
build/plugins/go.so: $(wildcard plugins/go/*.c plugins/go/*.h) plugins/pscope_plugin.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_FLAGS) $(shell pkg-config --cflags libdw libelf) -o $@ $(filter %.c,$^) \
		$(shell pkg-config --libs libdw libelf)

# Go targets are built offline with the Debian toolchain; caches stay in build/.
GO_ENV := GOCACHE=$(CURDIR)/build/go-cache GOPATH=$(CURDIR)/build/go-path GOTOOLCHAIN=local \
	GOFLAGS= GOPROXY=off
$(GO_TARGETS:%=build/targets/go%-stripped): build/targets/go%-stripped: $$(wildcard tests/go/%/*) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	cd tests/go/$* && $(GO_ENV) go build -ldflags='-s -w' -o $(CURDIR)/$@ .
$(GO_TARGETS:%=build/targets/go%): build/targets/go%: $$(wildcard tests/go/%/*) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	cd tests/go/$* && $(GO_ENV) go build -o $(CURDIR)/$@ .

$(BIN): $(CORE_OBJ) $(MAIN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# test_symbols demangles its reference names itself, so it links libstdc++.
$(BUILD)/tests/test_symbols: TEST_LIBS = -lstdc++
$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJ) $(PARSE_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(PKG_CFLAGS) $$(pkg-config --cflags cmocka) \
		-DFIXTURES=\"$(CURDIR)/tests/fixtures\" -o $@ $< $(CORE_OBJ) $(PARSE_OBJ) \
		$(LDFLAGS) $(PKG_LIBS) $(TEST_LIBS) $$(pkg-config --libs cmocka) -lm

# Test targets are ordinary programs: never sanitized, built once for both runs.
build/targets/%: tests/targets/%.c $(wildcard tests/targets/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -pthread -o $@ $< -lm

build/targets/stacky-O0: tests/targets/stacky.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O0 -g -pthread -o $@ $<

build/targets/stacky-O2-nofp: tests/targets/stacky.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fomit-frame-pointer -g -pthread -o $@ $<

build/targets/stacky_cpp: tests/targets/stacky_cpp.cpp | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -Wall -Wextra -Werror -O1 -g -pthread -o $@ $<

# Each suite prints its own 'N passed, N failed' line; run_suites.py adds
# them up into the closing line.
UNIT_CMD        = python3 tests/unit/run_unit.py $(UNIT_BIN)
INTEGRATION_CMD = python3 tests/integration/run.py --pscope $(abspath $(BIN)) --targets build/targets

unit: $(UNIT_BIN)
	@$(UNIT_CMD)

integration: $(BIN) $(TARGET_BIN) $(GO_TARGET_BIN) $(PLUGIN_SO) $(TEST_PLUGIN_SO)
	@$(INTEGRATION_CMD)

test: | $(DEPS_OK)
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(BIN) $(TARGET_BIN) $(GO_TARGET_BIN) \
		$(PLUGIN_SO) $(TEST_PLUGIN_SO)
	@python3 tests/run_suites.py "$(UNIT_CMD)" "$(INTEGRATION_CMD)"

asan:
	@$(MAKE) --no-print-directory SANITIZE=1 all

test-asan:
	@$(MAKE) --no-print-directory SANITIZE=1 test

demo: $(BIN) build/targets/demo
	@sh tests/demo.sh $(abspath $(BIN)) build/targets/demo

bench: $(BIN) build/targets/fat build/targets/small build/targets/stacky
	@python3 tests/bench/bench.py --pscope $(abspath $(BIN)) --targets build/targets

install: $(BIN) $(PLUGIN_SO)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PLUGINDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/pscope
	$(if $(PLUGIN_SO),install -m 644 $(PLUGIN_SO) $(DESTDIR)$(PLUGINDIR)/)
	install -m 644 man/pscope.1 $(DESTDIR)$(MANDIR)/man1/pscope.1

clean:
	rm -rf build pscope
