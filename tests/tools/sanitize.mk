# tests/tools/sanitize.mk — `make asan`: the same sources as `make all`, built with ASan and UBSan
# (CFLAGS from the Makefile's asan target) into build/asan: objects in build/asan/lib, the
# filters in build/asan/bin. Included variables (FILTERS, LIBSRC, LIBHDR, CFLAGS overrides,
# LDLIBS) come from the Makefile itself, so new filters and lib files are picked up.
include Makefile

A_OBJ = $(patsubst lib/%.c,build/asan/lib/%.o,$(LIBSRC)) build/asan/lib/descriptor.pb-c.o
A_BIN = $(addprefix build/asan/bin/,$(FILTERS))

asan-all: $(A_BIN)

build/asan/lib/descriptor.pb-c.o: build/google/protobuf/descriptor.pb-c.c build/google/protobuf/descriptor.pb-c.h
	@mkdir -p build/asan/lib
	$(CC) $(CFLAGS) -w -c -o $@ $<

build/asan/lib/%.o: lib/%.c $(LIBHDR)
	@mkdir -p build/asan/lib
	$(CC) $(CFLAGS) -c -o $@ $<

build/asan/libpagepull.a: $(A_OBJ)
	$(AR) rcs $@ $^

build/asan/bin/%: filters/%.c build/asan/libpagepull.a $(LIBHDR)
	@mkdir -p build/asan/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/asan/libpagepull.a $(LDLIBS)

# fetch-page and fetch-keeper: two programs from three files (see the Makefile).
build/asan/fetch-page-exchange.o: filters/fetch-page.c $(LIBHDR)
	@mkdir -p build/asan
	$(CC) $(CFLAGS) -Dmain=fetch_page_main -c -o $@ $<

build/asan/bin/fetch-keeper: filters/fetch-keeper.c build/asan/fetch-page-exchange.o build/asan/libpagepull.a $(LIBHDR)
	@mkdir -p build/asan/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/asan/fetch-page-exchange.o build/asan/libpagepull.a $(LDLIBS)

build/asan/bin/fetch-page: filters/client/fetch-page.c build/asan/libpagepull.a $(LIBHDR)
	@mkdir -p build/asan/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/asan/libpagepull.a

.DEFAULT_GOAL := asan-all
.PHONY: asan-all
