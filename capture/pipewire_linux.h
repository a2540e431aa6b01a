#ifndef PARLO_PIPEWIRE_H
#define PARLO_PIPEWIRE_H

#include <stddef.h>
#include <stdint.h>

/* One PipeWire video stream consumed from a ScreenCast portal node. The
 * stream runs on its own pw_thread_loop; each new picture is copied into
 * the stream's frame (BGRX, tight rows) under a mutex, and the Go side is
 * told through parloPipeWireFrame. */
typedef struct parlo_pw parlo_pw;

/* Stream states as parlo_pw_state reports them. */
enum {
	PARLO_PW_CONNECTING = 0,
	PARLO_PW_STREAMING = 1,
	PARLO_PW_GONE = 2,
};

/* parlo_pw_open connects to the PipeWire remote on fd (from the portal's
 * OpenPipeWireRemote; it is taken over, also on failure) and to node.
 * handle is passed back to parloPipeWireFrame. NULL on failure, with a
 * message in err. */
parlo_pw *parlo_pw_open(int fd, uint32_t node, uintptr_t handle, char *err, size_t errlen);

/* parlo_pw_copy copies the latest picture, if newer than *seq, into dst
 * (dst_len bytes, tight BGRX rows) and updates *seq, *w and *h. It returns
 * 1 when it copied, 0 when there is nothing newer, -1 when dst is too
 * small (then *w and *h say what is needed). */
int parlo_pw_copy(parlo_pw *p, uint8_t *dst, size_t dst_len, uint64_t *seq, int *w, int *h);

/* parlo_pw_state returns the state and the negotiated size. */
int parlo_pw_state(parlo_pw *p, int *w, int *h);

/* parlo_pw_copy_rows converts h rows of w pixels of the SPA video format
 * fmt (stride bytes apart) into tight BGRX rows. */
void parlo_pw_copy_rows(uint8_t *dst, const uint8_t *src, int w, int h, int stride, uint32_t fmt);

/* parlo_pw_close stops the thread and frees everything. */
void parlo_pw_close(parlo_pw *p);

#endif
