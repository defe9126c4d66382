# pagepull — small C filters that pull every record out of paginated APIs as NDJSON.
# Plain make: `make` builds bin/, `make check` runs every test, `make demo` the five pipelines.
# One set of rules, built into two trees: the normal one (objects in build/, programs in
# bin/) and, by `make asan`, the same rules again with the sanitizers' CFLAGS into build/asan.

# Where a tree goes: objects, the library and the C unit tests in OBJDIR, programs in PROGDIR.
OBJDIR  ?= build
PROGDIR ?= bin
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/pagepull
CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS     = libcurl expat libcjson libprotobuf-c zlib
override CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter -Ilib -Ibuild \
                    $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
override LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# Every Debian package the project needs, in one place, in two lists: DEBS for the build,
# the pipelines and `make demo` (the emulator included); DEBS_TEST added for `make check`,
# bench and fuzz (bats, linters, the sanitizers' toolchain). `make deps` installs what is
# missing of DEBS, `make deps-test` of both.
DEBS = build-essential pkg-config libcurl4-openssl-dev libexpat1-dev libcjson-dev zlib1g-dev \
       libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev \
       python3 python3-protobuf curl jq bc ca-certificates
# fetch-keeper links OpenSSL itself (the run's CA store); libcurl4-openssl-dev only suggests it.
DEBS += libssl-dev
DEBS_TEST = bats bats-support bats-assert libxml2-utils expat xml2 xmlstarlet yq mandoc \
       groff-base time procps openssl busybox
# man -w finds build/man (ux.bats); col turns mandoc's page into text (help vs man page):
# neither is in a minimal Debian.
DEBS_TEST += man-db bsdextrautils
# Hardening (issue 9): the sanitizer build and the fuzzers use clang's runtimes; valgrind.
DEBS_TEST += clang libclang-rt-14-dev valgrind strace
# The README's recipes run for real (issue 18): DuckDB from npm (tests/load-duckdb.bats), a
# proxy (tests/proxy.bats), sshd "hosts" for GNU parallel's fan-out (tests/fanout.bats).
DEBS_TEST += nodejs npm tinyproxy openssh-server parallel rsync

FILTERS  = $(patsubst filters/%.c,%,$(wildcard filters/*.c))
BINS     = $(addprefix $(PROGDIR)/,$(FILTERS))
LIBSRC   = $(wildcard lib/*.c)
LIBOBJ   = $(patsubst lib/%.c,$(OBJDIR)/lib/%.o,$(LIBSRC)) $(OBJDIR)/lib/descriptor.pb-c.o
LIBA     = $(OBJDIR)/libpagepull.a
# Generated sources (the descriptor.proto bindings) are shared by both trees, always in build/.
LIBHDR   = $(wildcard lib/*.h) build/google/protobuf/descriptor.pb-c.h
# The C unit tests of lib/ modules (tests/unit/NAME.c, TAP on stdout), run by make check.
UNITS    = $(addprefix $(OBJDIR)/unit/,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*.c)))
PROTOS   = $(wildcard pipelines/proto/*.proto)
# The man pages also as build/man/man1 and man7, so that `MANPATH=build/man man 7 pagepull`
# works from the source tree before `make install`.
MANPAGES = $(patsubst man/%.1,build/man/man1/%.1,$(wildcard man/*.1)) \
           $(patsubst man/%.7,build/man/man7/%.7,$(wildcard man/*.7))
PIPELINES = $(filter-out proto %.sh %.proto %.xml %.json %.desc,$(notdir $(wildcard pipelines/*)))
PIPELIB   = $(wildcard pipelines/*.sh)

.PHONY: all programs units testprep deps deps-test check demo bench fuzz emulator install \
        uninstall clean lint-man asan valgrind
all: programs build/diadoc.desc $(MANPAGES)

programs: $(BINS)

units: $(UNITS)

# What only the tests (and the emulator) need beyond `all`: the emulator's Python modules
# for Diadoc and the C unit tests.
testprep: build/py/.stamp units

# The deps step is one dpkg-query: it installs nothing when nothing is missing.
deps:
	@sh tests/tools/deps.sh $(DEBS)

deps-test:
	@sh tests/tools/deps.sh $(DEBS) $(DEBS_TEST)

# The descriptor.proto bindings let pb2ndjson read any FileDescriptorSet at run time.
build/google/protobuf/descriptor.pb-c.c build/google/protobuf/descriptor.pb-c.h: /usr/include/google/protobuf/descriptor.proto
	@mkdir -p build
	protoc-c --c_out=build -I/usr/include /usr/include/google/protobuf/descriptor.proto

$(OBJDIR)/lib/descriptor.pb-c.o: build/google/protobuf/descriptor.pb-c.c build/google/protobuf/descriptor.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -w -c -o $@ $<

$(OBJDIR)/lib/%.o: lib/%.c $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	$(AR) rcs $@ $^

$(PROGDIR)/%: filters/%.c $(LIBA) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

$(OBJDIR)/unit/%: tests/unit/%.c tests/unit/unit.h $(LIBA) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(LIBA) $(LDLIBS)

build/man/man1/%.1: man/%.1
	@mkdir -p $(@D)
	@cp $< $@

build/man/man7/%.7: man/%.7
	@mkdir -p $(@D)
	@cp $< $@

# fetch-page is two programs (fetch-keeper(1)): bin/fetch-page, a small client without
# libcurl that hands the exchange to the run's connection keeper, and bin/fetch-keeper, the
# keeper, which makes the exchange with filters/fetch-page.c — also, called as fetch-page,
# for a client that no keeper serves. The exchange is fetch-page.c and its parts beside it in
# filters/fetch-page/ (not in filters/, where every .c is a program), with their private
# header filters/fetch-page/fetch-page.h.
EXCHANGE_HDR = filters/fetch-page/fetch-page.h
EXCHANGE_OBJ = $(OBJDIR)/fetch-page-exchange.o \
               $(patsubst filters/fetch-page/%.c,$(OBJDIR)/fetch-page/%.o,$(wildcard filters/fetch-page/*.c))

$(OBJDIR)/fetch-page-exchange.o: filters/fetch-page.c $(EXCHANGE_HDR) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Dmain=fetch_page_main -c -o $@ $<

$(OBJDIR)/fetch-page/%.o: filters/fetch-page/%.c $(EXCHANGE_HDR) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The keeper also links libssl and libcrypto itself: it loads the run's CA store once for
# all its workers (fetch-keeper.c); the client links neither.
$(PROGDIR)/fetch-keeper: filters/fetch-keeper.c $(EXCHANGE_OBJ) $(LIBA) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags openssl) $(LDFLAGS) -o $@ $< $(EXCHANGE_OBJ) \
		$(LIBA) $(LDLIBS) $(shell pkg-config --libs openssl)

$(PROGDIR)/fetch-page: filters/client/fetch-page.c $(LIBA) $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA)

# The Diadoc schema: a FileDescriptorSet for pb2ndjson/ndjson2pb, Python modules for the emulator.
build/diadoc.desc: $(PROTOS)
	@mkdir -p build
	protoc -Ipipelines/proto --include_imports --descriptor_set_out=$@ $(notdir $(PROTOS))

build/py/.stamp: $(PROTOS)
	@mkdir -p build/py
	protoc -Ipipelines/proto --python_out=build/py $(notdir $(PROTOS))
	@touch $@

check: deps-test all testprep asan
	@sh tests/tools/run.sh

demo: deps all build/py/.stamp
	@bash tests/tools/demo.sh

bench: deps-test all build/py/.stamp
	@bash tests/bench/run.sh

fuzz: deps-test
	@bash tests/fuzz/run.sh

# make asan: the same rules with ASan+UBSan into build/asan (objects and unit tests there,
# the filters in build/asan/bin); make check runs suites against it (tests/tools/run.sh).
# make valgrind: memcheck over the decoders' golden tests (tests/sanitize.bats).
ASAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
asan: all
	@$(MAKE) -s OBJDIR=build/asan PROGDIR=build/asan/bin CFLAGS='$(ASAN_CFLAGS)' programs units

valgrind: deps-test all
	@bats --tap --filter 'valgrind' tests/sanitize.bats

emulator: deps all build/py/.stamp
	@tests/emulator/run --banner

lint-man:
	@for m in man/*.[17]; do groff -mandoc -ww -z $$m || exit 1; done

# install and uninstall stop at the first command that fails.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)
	install -m 755 $(BINS) $(addprefix pipelines/,$(PIPELINES)) $(DESTDIR)$(BINDIR)
	install -m 644 build/diadoc.desc $(PIPELIB) $(DESTDIR)$(DATADIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7

# uninstall removes what install put there, and the data directory if that leaves it empty
# (rmdir fails on a file that is not ours).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(FILTERS) $(PIPELINES))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/,diadoc.desc $(notdir $(PIPELIB)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7)))
	if [ -d $(DESTDIR)$(DATADIR) ]; then rmdir $(DESTDIR)$(DATADIR); fi

clean:
	rm -rf bin build
