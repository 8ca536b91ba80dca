# src/lib: the gate core, one convenience library linked into every binary.
noinst_LTLIBRARIES += src/lib/libyg.la
src_lib_libyg_la_SOURCES = \
	src/lib/yg_err.c src/lib/yg_err.h
src_lib_libyg_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBVIRT_QEMU_CFLAGS) $(CAPNG_CFLAGS)
src_lib_libyg_la_LIBADD = $(LIBVIRT_LIBS) $(LIBVIRT_QEMU_LIBS) $(CAPNG_LIBS)
