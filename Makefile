# dx - a source-to-source automatic differentiation compiler.
#
#   make            build build/dxc and build/libdxrt.a
#   make check      run every test suite (Check), end-to-end tests included
#   make check-asan the same suites built with ASan and UBSan
#   make fuzz-diff N=10000 [SEED=1] [CC_RUNS=1000] [JOBS=2] [FUZZ_CC=gcc,clang]
#                   [FUZZ_CFLAGS="-fsanitize=address,undefined"]
#                   the differential tester (tools/fuzz_diff.c)
#   make fuzz-edge N=2000 [SEED=1]   the same at edge inputs (--edge)
#   make fuzz-check N=1000 [SEED=1] [REAL=float]   the random programs
#                   through dxc --emit=check, compiled and run
#   make bench      the derivatives' cost against f's (bench/run.sh)
#   make bench-compile   compile time and memory against program size
#   make train      train the iris classifier of examples/train
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# Objects go to $(B) (build/ by default), so a sanitizer build can live
# beside the normal one.

CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= build
FLEX    ?= flex
BISON   ?= bison

VERSION := $(shell sed -n 's/.*DX_VERSION "\(.*\)"/\1/p' common/dx.h)
WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wmissing-prototypes -Wstrict-prototypes
DXCFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -I$(B) -Icommon -Iparser -Ilexer -Iir -Icodegen -Iruntime
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

CORE_SRC = $(wildcard common/*.c) $(wildcard parser/*.c) $(wildcard ir/*.c) $(wildcard codegen/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(B)/%.o) $(B)/lexer.o $(B)/parser.o
DRIVER_OBJ = $(B)/driver/main.o $(B)/driver/output.o
RT_SRC   = $(wildcard runtime/*.c)
RT_OBJ   = $(RT_SRC:%.c=$(B)/%.o)
TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(B)/%.o)

all: $(B)/dxc $(B)/libdxrt.a $(B)/dxrt.pc

$(B)/dxc: $(DRIVER_OBJ) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm -lpthread

$(B)/libdxrt.a: $(RT_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/dxrt.pc: runtime/dxrt.pc.in
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(B)/lexer.c $(B)/lexer.h &: lexer/lexer.l
	@mkdir -p $(B)
	$(FLEX) --outfile=$(B)/lexer.c --header-file=$(B)/lexer.h $<

$(B)/parser.c $(B)/parser.h &: parser/parser.y
	@mkdir -p $(B)
	$(BISON) -Wall -Werror --defines=$(B)/parser.h -o $(B)/parser.c $<

# The check program's harness (dxc --emit=check), a C string built into dxc.
$(B)/checkmain.h: codegen/checkmain.tpl
	@mkdir -p $(B)
	{ echo '/* Generated from codegen/checkmain.tpl by the Makefile. */'; \
	  echo 'static const char *const checkmain_tpl[] = {'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/",/' $<; \
	  echo '    0};'; } > $@
$(B)/codegen/ccheck.o: $(B)/checkmain.h

# Generated scanner and parser: their own code is not held to our warnings.
$(B)/lexer.o: $(B)/lexer.c $(B)/parser.h
	$(CC) $(CFLAGS) $(DXCFLAGS) -Wno-unused-function -Wno-sign-compare -MMD -MP -c -o $@ $<
$(B)/parser.o: $(B)/parser.c $(B)/lexer.h
	$(CC) $(CFLAGS) $(DXCFLAGS) -Wno-unused-function -MMD -MP -c -o $@ $<

# Header dependencies come from the compiler (-MMD -MP writes a .d file
# beside each object), so a header generated elsewhere under $(B) never
# makes everything stale.  The scanner's and parser's headers are made
# before any object that might include them (order-only).
# An object without its .d (built before dependencies were tracked) is
# rebuilt: the .d is a prerequisite whose rule, when it is missing, makes
# everything that needs it out of date (Paul Smith's "Auto-Dependency
# Generation" recipe).
$(B)/%.o: %.c $(B)/%.d | $(B)/parser.h $(B)/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DXCFLAGS) $(WARN) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

DEPS = $(patsubst %.o,%.d,$(CORE_OBJ) $(RT_OBJ) $(TEST_OBJ) $(DRIVER_OBJ) $(B)/tools/fuzz_diff.o)
$(DEPS):
-include $(wildcard $(DEPS))

$(B)/dxtest: $(TEST_OBJ) $(CORE_OBJ) $(B)/libdxrt.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(CORE_OBJ) $(B)/libdxrt.a $(CHECK_LIBS) -lm -lpthread

# The end-to-end tests find the compiler, the runtime (the one their
# plainly compiled drivers link: RTLIB) and the examples here.
RTLIB ?= $(B)/libdxrt.a
check: $(B)/dxtest $(B)/dxc $(RTLIB)
	DX_ROOT=$(CURDIR) DXC=$(abspath $(B))/dxc DXRT_DIR=$(CURDIR)/runtime DXRT_LIB=$(abspath $(RTLIB)) \
	    $(CHECK_ENV) $(B)/dxtest

# Sanitizers: the whole build again in build-asan/, then every suite.  The
# drivers the end-to-end suites compile are not sanitized, so they link
# the plain runtime.
check-asan: build/libdxrt.a
	$(MAKE) B=build-asan RTLIB=build/libdxrt.a CHECK_ENV="DX_SANITIZED=1 CK_DEFAULT_TIMEOUT=600" CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

# valgrind on the compiler itself over the example and hostile inputs.
check-valgrind: $(B)/dxtest $(B)/dxc
	DX_ROOT=$(CURDIR) DXC="$(abspath $(B))/dxc" DXRT_DIR=$(CURDIR)/runtime DXRT_LIB=$(abspath $(B))/libdxrt.a \
	    DX_VALGRIND=1 CK_FORK=no valgrind --error-exitcode=1 --leak-check=full -q $(B)/dxtest

# The differential tester: N random programs through the
# interpreter checks, CC_RUNS of them also compiled with dxc and gcc;
# failures are reduced and saved under tests/regress/ (tools/fuzz_diff.c).
N       ?= 1000
SEED    ?= 1
CC_RUNS ?= 100
JOBS    ?= 2
FUZZ_CC ?= gcc
FUZZ_CFLAGS ?=
FUZZ_OBJ = $(B)/tools/fuzz_diff.o $(B)/tests/progen.o $(B)/tests/diffcheck.o $(B)/tests/testutil.o
$(B)/fuzz_diff: $(FUZZ_OBJ) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm -lpthread

fuzz-diff: $(B)/fuzz_diff $(B)/dxc
	DX_DIFF_CFLAGS="$(FUZZ_CFLAGS)" $(B)/fuzz_diff -n $(N) -s $(SEED) -c $(CC_RUNS) -j $(JOBS) --cc $(FUZZ_CC) --dxc $(abspath $(B))/dxc --regress tests/regress

# The checkpointing campaign: every compiled program with a 4 KiB stack
# budget, so that its loops are checkpointed (DX_DIFF_DXFLAGS); a program
# whose arrays cannot fit even so is counted as refused, not failed.
fuzz-ckpt: $(B)/fuzz_diff $(B)/dxc
	DX_DIFF_DXFLAGS=--stack-budget=4K $(B)/fuzz_diff -n $(N) -s $(SEED) -c $(N) -j $(JOBS) --cc $(FUZZ_CC) --dxc $(abspath $(B))/dxc --regress tests/regress

# The check-program campaign: fuzz_diff's random programs through dxc
# --emit=check (double, or REAL=float), compiled and run; none may fail.
REAL ?= double
fuzz-check: $(B)/fuzz_diff $(B)/dxc
	B=$(B) sh tools/fuzz_check.sh $(N) $(SEED) $(REAL)

# The edge campaign: programs with guarded singular constructs, checked at
# edge inputs (0, tiny, huge, ties) too: no derivative may be NaN where the
# function is finite and its differences settle (interpreter checks only).
fuzz-edge: $(B)/fuzz_diff $(B)/dxc
	$(B)/fuzz_diff --edge -n $(N) -s $(SEED) -c 0 -j $(JOBS) --dxc $(abspath $(B))/dxc --regress tests/regress

# One table of what f_grad, f_jvp and f_hvp cost against f, in
# instructions (callgrind) and wall time, for the models of bench/ (toy,
# MLP, ADBench's GMM, LSTM, spring, RNN, GMM), beside hand-written
# gradients and PyTorch; see bench/run.sh (BENCH=, N=, RUNS=).  Not in check.
bench: $(B)/dxc
	DXC=$(abspath $(B))/dxc B=$(abspath $(B)) sh bench/run.sh

# Compile time and memory against program size (bench/compile_time.sh).
bench-compile: $(B)/dxc
	DXC=$(abspath $(B))/dxc B=$(abspath $(B)) sh bench/compile_time.sh

# The first run: dxc compiles the three seed examples (y = x^2, the graph
# (a + b) * c, a neuron), a small C program calls each function and its
# gradient, and prints them beside finite differences.
EX = $(B)/example
example: $(B)/dxc
	@mkdir -p $(EX)
	$(B)/dxc examples/square.dx -o $(EX)/square.c --header $(EX)/square.h
	$(B)/dxc examples/graph.dx -o $(EX)/graph.c --header $(EX)/graph.h
	$(B)/dxc examples/neuron.dx -o $(EX)/neuron.c --header $(EX)/neuron.h
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -I$(EX) -o $(EX)/seed \
	    examples/seed.c $(EX)/square.c $(EX)/graph.c $(EX)/neuron.c -lm
	@echo
	@$(EX)/seed
	@echo
	@echo "The C that dxc wrote is in $(EX)/ (square.c, graph.c, neuron.c): each"
	@echo "function, then its gradient as a forward and a backward pass."

# The iris classifier of examples/train trained with the gradient dxc
# generates: a progress line every 10th epoch, then the held-out score
# (examples/train/Makefile; it fails when fewer than 28 of the 30
# held-out flowers are classified correctly).
train: $(B)/dxc $(B)/libdxrt.a
	$(MAKE) -C examples/train DXC=$(abspath $(B))/dxc DXRT_DIR=$(CURDIR)/runtime \
	    DXRT_LIB=$(abspath $(B))/libdxrt.a O=$(abspath $(B))/train run

install: all install-integration
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/doc/dx
	install -m 755 $(B)/dxc $(DESTDIR)$(PREFIX)/bin/dxc
	install -m 644 $(B)/libdxrt.a $(DESTDIR)$(PREFIX)/lib/libdxrt.a
	install -m 644 runtime/dxrt.h $(DESTDIR)$(PREFIX)/include/dxrt.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' runtime/dxrt.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dxrt.pc
	install -m 644 docs/dxc.1 $(DESTDIR)$(PREFIX)/share/man/man1/dxc.1
	install -m 644 docs/language.md docs/json.md docs/tutorial.md $(DESTDIR)$(PREFIX)/share/doc/dx/
	install -d $(DESTDIR)$(PREFIX)/share/doc/dx/images
	install -m 644 docs/images/neuron.png $(DESTDIR)$(PREFIX)/share/doc/dx/images/neuron.png

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dxc $(DESTDIR)$(PREFIX)/lib/libdxrt.a \
	    $(DESTDIR)$(PREFIX)/include/dxrt.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/dxrt.pc \
	    $(DESTDIR)$(PREFIX)/share/man/man1/dxc.1 $(DESTDIR)$(PREFIX)/share/doc/dx/language.md \
	    $(DESTDIR)$(PREFIX)/share/doc/dx/json.md $(DESTDIR)$(PREFIX)/share/doc/dx/tutorial.md \
	    $(DESTDIR)$(PREFIX)/share/doc/dx/images/neuron.png
	-rmdir $(DESTDIR)$(PREFIX)/share/doc/dx/images 2>/dev/null
	rm -f $(DXSHARE)/dx.mk $(DXSHARE)/cmake/dx-config.cmake \
	    $(DXSHARE)/cmake/dx-config-version.cmake $(DXSHARE)/cmake/DxGenerate.cmake
	-rmdir $(DXSHARE)/cmake $(DXSHARE) 2>/dev/null

# Build-system support (integration/): dx.mk, the Make rule, in
# $(PREFIX)/share/dx; the CMake package find_package(dx) reads, with
# dx_generate(), in $(PREFIX)/share/dx/cmake.  Needs nothing built.
DXSHARE = $(DESTDIR)$(PREFIX)/share/dx
install-integration:
	install -d $(DXSHARE)/cmake
	install -m 644 integration/dx.mk $(DXSHARE)/dx.mk
	install -m 644 integration/dx-config.cmake integration/DxGenerate.cmake $(DXSHARE)/cmake/
	sed -e 's|@VERSION@|$(VERSION)|g' integration/dx-config-version.cmake.in \
	    > $(DXSHARE)/cmake/dx-config-version.cmake

clean:
	rm -rf build build-asan

.PHONY: all bench bench-compile check check-asan check-valgrind example fuzz-check fuzz-ckpt fuzz-diff fuzz-edge install uninstall clean
.PHONY: install-integration train
