# fuzz/fuzz.mk - included by csrc/Makefile: the libFuzzer harness.
#
#   make fuzz       fuzz/fuzz_core.c under libFuzzer+ASan+UBSan for
#                   FUZZ_SECONDS (60).  Seeds: fuzz/corpus (committed, read
#                   only); inputs it finds: build/fuzz/corpus; a crash or a
#                   broken invariant: build/fuzz/crash-* (rerun one with
#                   ./build/fuzz/fuzz_core build/fuzz/crash-...).
#                   FUZZ_ARGS adds libFuzzer flags, e.g. for a long run:
#                   make fuzz FUZZ_SECONDS=3600 FUZZ_ARGS="-jobs=2 -workers=2"
#
# libFuzzer needs clang and its runtime (Debian: clang libclang-rt-14-dev;
# .ci/fuzz installs them when clang is missing).  The harness is compiled
# together with the library sources so that the sanitizers and the
# coverage instrumentation cover the library too, and with allocation
# failure injection, which the harness arms for some operations.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all -g -O1 -DMXH_FAULT_INJECTION

.PHONY: fuzz

$(BUILD)/fuzz/corpus:
	mkdir -p $@

$(BUILD)/fuzz/fuzz_core: fuzz/fuzz_core.c $(LIB_SRCS) $(LIB_HDRS) | $(BUILD)/fuzz/corpus
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -pthread -I. -o $@ $< $(LIB_SRCS)

fuzz: $(BUILD)/fuzz/fuzz_core
	./$(BUILD)/fuzz/fuzz_core -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(FUZZ_ARGS) \
	    $(BUILD)/fuzz/corpus fuzz/corpus

# Without libFuzzer (gcc only): the same harness and invariants under
# ASan+UBSan, driven by fuzz/standalone.c (the corpus, then random
# mutations of it for FUZZ_SECONDS, no coverage guidance).  .ci/fuzz falls
# back to it when clang cannot be installed.
STANDALONE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
                    -fno-sanitize-recover=all -g -O1 -DMXH_FAULT_INJECTION

.PHONY: fuzz-standalone

$(BUILD)/fuzz/fuzz_standalone: fuzz/standalone.c fuzz/fuzz_core.c $(LIB_SRCS) $(LIB_HDRS) | $(BUILD)/fuzz/corpus
	$(CC) $(WARN) $(STANDALONE_FLAGS) -pthread -I. -o $@ fuzz/standalone.c fuzz/fuzz_core.c $(LIB_SRCS)

fuzz-standalone: $(BUILD)/fuzz/fuzz_standalone
	FUZZ_CRASH_FILE=$(BUILD)/fuzz/crash-standalone ./$(BUILD)/fuzz/fuzz_standalone \
	    $(FUZZ_SECONDS) fuzz/corpus $(BUILD)/fuzz/corpus
