# dx.mk - compiling .dx models in a Makefile.  Installed with dxc, in
# $(PREFIX)/share/dx/dx.mk; include it and name the generated files:
#
#     include /usr/local/share/dx/dx.mk
#     DXFLAGS = --real=float
#     prog: main.o model.o
#     	$(CC) -o $@ main.o model.o -lm
#     main.o: model.h
#
# model.c and model.h are then made from model.dx by one run of
#     $(DXC) $(DXFLAGS) model.dx -o model.c --header model.h
# whenever model.dx (or dxc itself, when DXC is a path) is newer.
#
#   DXC        the compiler (default: dxc, found on PATH)
#   DXFLAGS    its options (default: none)
#   DX_OUTDIR  where the .c and .h go, with a trailing slash (default:
#              beside the .dx); set it BEFORE the include line, e.g.
#              DX_OUTDIR = build/ makes build/model.c from model.dx
#
# The rule is a pattern rule with two targets, which GNU Make runs once
# for both (GNU Make manual, "Pattern Rule Examples": "a rule with
# multiple target patterns ... all the targets are made by one invocation
# of the recipe").  The generated files are kept (.PRECIOUS) even when
# make reaches them only through a chain such as model.dx -> model.c ->
# model.o.

DXC       ?= dxc
DXFLAGS   ?=
DX_OUTDIR ?=

# dxc writes its output only when the compilation succeeds, so a failed
# run leaves no half-written file behind.
$(DX_OUTDIR)%.c $(DX_OUTDIR)%.h: %.dx $(filter /%,$(DXC))
	@$(if $(DX_OUTDIR),mkdir -p $(DX_OUTDIR))
	$(DXC) $(DXFLAGS) $< -o $(DX_OUTDIR)$*.c --header $(DX_OUTDIR)$*.h

.PRECIOUS: $(DX_OUTDIR)%.c $(DX_OUTDIR)%.h
