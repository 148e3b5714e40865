# mbr - the only build entry.  make | make test | make test SANITIZE=1 | make demo | make deps
PKGS = libgit2 libarchive libzstd openssl libcurl jansson
DEB_PKGS = libgit2-dev libarchive-dev libzstd-dev libssl-dev libcurl4-openssl-dev libjansson-dev pkg-config \
	   python3 bc zstd git

CC ?= cc
OPT ?= -O2
CFLAGS ?= $(OPT) -g
WARN = -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wvla
ALL_CFLAGS = -DMBR_DOC_DIR=\"$(CURDIR)/Documentation\" -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Ilib/include -Ilib -Ikernels $(CFLAGS)
LDLIBS = -pthread -lm
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD = build-san
# the sanitized binaries live apart, so ./mbr stays the one to use and time
BIN_DIR = build-san
else
BUILD = build
BIN_DIR = .
endif
MBR_BIN = $(BIN_DIR)/mbr
TOOL_BIN = $(BIN_DIR)/t/helper/test-tool

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS += $(PKG_CFLAGS)

ARCH := $(shell uname -m)
LIB_SRCS = $(wildcard lib/*.c)
KERNEL_SRCS = $(wildcard kernels/*.c)
ifeq ($(ARCH),x86_64)
KERNEL_SRCS += $(wildcard kernels/x86/*.c)
endif
BUILTIN_SRCS = $(wildcard cmd/*.c)
HELPER_SRCS = $(wildcard t/helper/*.c)
UNIT_SRCS = $(wildcard t/unit-tests/u-*.c)

LIB_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS) $(KERNEL_SRCS))
BUILTIN_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(BUILTIN_SRCS))
HELPER_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(HELPER_SRCS))
UNIT_BINS = $(patsubst t/unit-tests/%.c,$(BUILD)/t/unit-tests/%,$(UNIT_SRCS))

all: $(MBR_BIN) $(TOOL_BIN) $(UNIT_BINS)

check-deps:
	@pkg-config --exists $(PKGS) || { echo "missing libraries: run 'make deps'" >&2; exit 1; }

deps:
	@{ pkg-config --exists $(PKGS) && command -v python3 && command -v bc && command -v zstd; } >/dev/null 2>&1 || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PKGS) build-essential; }

$(BUILD)/libmbr.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Relinked every time: a SANITIZE=1 build and a plain one share these
# names, and a stale link of the other flavour must never survive. Linked
# to a temporary name and renamed, so a running test never finds the file
# half-written.
$(MBR_BIN): $(BUILTIN_OBJS) $(BUILD)/libmbr.a FORCE
	$(CC) $(LDFLAGS) -o $@+ $(BUILTIN_OBJS) $(BUILD)/libmbr.a $(PKG_LIBS) $(LDLIBS) && mv $@+ $@

$(TOOL_BIN): $(HELPER_OBJS) $(BUILD)/libmbr.a FORCE
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@+ $(HELPER_OBJS) $(BUILD)/libmbr.a $(PKG_LIBS) $(LDLIBS) && mv $@+ $@

$(BUILD)/t/unit-tests/%: t/unit-tests/%.c t/unit-tests/unit.h $(BUILD)/libmbr.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmbr.a $(PKG_LIBS) $(LDLIBS)

# ISA kernels get their instruction set; dispatch happens at run time.
$(BUILD)/kernels/x86/%.o: kernels/x86/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -mavx2 -mfma -mf16c -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

test: all
	@MBR_UNIT_DIR=$(BUILD)/t/unit-tests MBR_TEST_BIN_DIR=$(abspath $(BIN_DIR)) bash t/run-tests.sh

perf: all
	bash t/perf/run.sh

demo: deps all
	bash contrib/demo.sh

doc:
	@ls Documentation/*.adoc

clean:
	rm -rf build build-san mbr t/helper/test-tool t/trash* t/results

FORCE:
.PHONY: all deps check-deps test perf demo doc clean FORCE

# For building one piece by hand while other files are in flux:
#   cc $$(make -s print-cflags) -o x t/unit-tests/u-odb.c lib/odb.c lib/error.c ... $$(make -s print-libs)
print-cflags:
	@echo $(ALL_CFLAGS)
print-libs:
	@echo $(PKG_LIBS) $(LDLIBS)
.PHONY: print-cflags print-libs
