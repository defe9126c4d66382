# tests/fuzz/fuzz.mk — builds the libFuzzer harnesses into build/fuzz/ (run from the top
# directory: make -f tests/fuzz/fuzz.mk). The library is compiled again with clang, ASan,
# UBSan and coverage, every file with tests/fuzz/trap.h forced in; a harness #includes its
# filter's .c itself. Needs build/google/protobuf/descriptor.pb-c.c (make all).
FUZZCC   ?= clang
PKGS      = libcurl expat libcjson libprotobuf-c zlib
SAN       = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZFLAGS = -O1 -g -fno-omit-frame-pointer $(SAN) -std=c11 -D_GNU_SOURCE -w \
            -include tests/fuzz/trap.h -Ilib -Ibuild -Itests/fuzz \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
O         = build/fuzz/obj
HARNESSES = xml2ndjson json2ndjson pb2ndjson ndjson2pb paginate-ctl paginate-state
LIBOBJ    = $(patsubst lib/%.c,$(O)/%.o,$(wildcard lib/*.c)) $(O)/descriptor.pb-c.o
HDRS      = $(wildcard lib/*.h) tests/fuzz/trap.h tests/fuzz/fuzz.h
A         = build/fuzz/libpagepull-fuzz.a

all: $(addprefix build/fuzz/fuzz-,$(HARNESSES))

# A harness links the archive, so it needs only the objects it uses to be built; run.sh
# builds the objects with -k first (a file that does not compile spoils only its users).
objs: $(LIBOBJ) $(O)/fuzz.o

$(O)/%.o: lib/%.c $(HDRS)
	@mkdir -p $(O)
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(O)/descriptor.pb-c.o: build/google/protobuf/descriptor.pb-c.c
	@mkdir -p $(O)
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(O)/fuzz.o: tests/fuzz/fuzz.c $(HDRS)
	@mkdir -p $(O)
	$(FUZZCC) $(FUZZFLAGS) -c -o $@ $<

$(A): $(wildcard $(LIBOBJ))
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/fuzz-%: tests/fuzz/%.c $(A) $(O)/fuzz.o $(HDRS) filters/*.c
	$(FUZZCC) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< $(O)/fuzz.o $(A) $(FUZZLIBS)

.PHONY: all objs
