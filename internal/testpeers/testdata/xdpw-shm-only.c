/*
 * Preloaded into xdg-desktop-portal-wlr 0.7.0/0.7.1 by StartSway so that a
 * screencast can start on a compositor without a GPU.
 *
 * xdpw 0.7 refuses Start unless the compositor's screencopy frame announced
 * a DMA-BUF format as well as a shared-memory one: start_screencast() checks
 * `state->screencast_version >= 3`, which is the portal's own D-Bus API
 * version (always 4), where the screencopy protocol version was meant
 * (upstream emersion/xdg-desktop-portal-wlr#289). wlroots' pixman renderer,
 * the only one without /dev/dri, never sends the linux_dmabuf event, so
 * every Start fails with "unable to receive a valid format from
 * wlr_screencopy".
 *
 * This shim forwards each shared-memory "buffer" event as a "linux_dmabuf"
 * event of the same format too. Nothing else changes: with no DMA-BUF
 * modifiers to offer (no zwp_linux_dmabuf_v1, no GBM device) xdpw's
 * build_formats() offers PipeWire shared-memory buffers only, which is the
 * path every frame then takes. A real DMA-BUF event, where a compositor
 * sends one, still arrives after and overrides it.
 *
 * It needs no Wayland headers: the listener layout is the order of the
 * events in wlr-screencopy-unstable-v1.xml.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

struct wl_proxy;
typedef void (*any_fn)(void);

struct frame_listener {
	void (*buffer)(void *, struct wl_proxy *, uint32_t, uint32_t, uint32_t, uint32_t);
	any_fn flags, ready, failed, damage;
	void (*linux_dmabuf)(void *, struct wl_proxy *, uint32_t, uint32_t, uint32_t);
	any_fn buffer_done;
};

static const struct frame_listener *orig;
static struct frame_listener wrapped;

/* wl_shm formats are DRM fourccs except the first two. */
static uint32_t shm_to_fourcc(uint32_t fmt) {
	switch (fmt) {
	case 0: return 0x34325241; /* ARGB8888 */
	case 1: return 0x34325258; /* XRGB8888 */
	default: return fmt;
	}
}

static void buffer(void *data, struct wl_proxy *frame, uint32_t fmt,
		uint32_t w, uint32_t h, uint32_t stride) {
	orig->buffer(data, frame, fmt, w, h, stride);
	orig->linux_dmabuf(data, frame, shm_to_fourcc(fmt), w, h);
}

int wl_proxy_add_listener(struct wl_proxy *proxy, any_fn *impl, void *data) {
	static int (*real)(struct wl_proxy *, any_fn *, void *);
	static const char *(*get_class)(struct wl_proxy *);
	if (!real) {
		real = dlsym(RTLD_NEXT, "wl_proxy_add_listener");
		get_class = dlsym(RTLD_NEXT, "wl_proxy_get_class");
	}
	if (strcmp(get_class(proxy), "zwlr_screencopy_frame_v1") == 0) {
		if (!orig) {
			orig = (const struct frame_listener *)impl;
			wrapped = *orig;
			wrapped.buffer = buffer;
		}
		if ((const struct frame_listener *)impl == orig)
			impl = (any_fn *)&wrapped;
	}
	return real(proxy, impl, data);
}
