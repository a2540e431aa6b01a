//go:build linux

#include "pipewire_linux.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <spa/param/buffers.h>
#include <spa/utils/result.h>

/* Exported by pipewire_linux.go. */
extern void parloPipeWireFrame(uintptr_t handle);

struct parlo_pw {
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct pw_stream *stream;
	struct spa_hook stream_listener;
	struct spa_hook core_listener;
	struct pw_registry *registry;
	struct spa_hook registry_listener;
	uint32_t node;
	uintptr_t handle;

	/* Set on the loop thread, read under mu by parlo_pw_state. */
	pthread_mutex_t mu;
	int state;
	struct spa_video_info_raw format;
	int width, height;
	/* The latest picture, BGRX, tight rows. */
	uint8_t *frame;
	size_t frame_len;
	uint64_t seq;
};

static void notify(struct parlo_pw *p) { parloPipeWireFrame(p->handle); }

static void set_state(struct parlo_pw *p, int state) {
	pthread_mutex_lock(&p->mu);
	if (p->state != PARLO_PW_GONE)
		p->state = state;
	pthread_mutex_unlock(&p->mu);
	notify(p);
}

static void on_state_changed(void *data, enum pw_stream_state old,
		enum pw_stream_state state, const char *error) {
	struct parlo_pw *p = data;
	(void)old;
	(void)error;
	switch (state) {
	case PW_STREAM_STATE_STREAMING:
		set_state(p, PARLO_PW_STREAMING);
		break;
	case PW_STREAM_STATE_ERROR:
	case PW_STREAM_STATE_UNCONNECTED:
		/* The portal session ended, the compositor stopped the cast, or
		 * the daemon went away. */
		set_state(p, PARLO_PW_GONE);
		break;
	default:
		break;
	}
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param) {
	struct parlo_pw *p = data;
	if (param == NULL || id != SPA_PARAM_Format)
		return;
	struct spa_video_info_raw info;
	uint32_t media_type, media_subtype;
	if (spa_format_parse(param, &media_type, &media_subtype) < 0 ||
			media_type != SPA_MEDIA_TYPE_video || media_subtype != SPA_MEDIA_SUBTYPE_raw)
		return;
	if (spa_format_video_raw_parse(param, &info) < 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->format = info;
	p->width = (int)info.size.width;
	p->height = (int)info.size.height;
	pthread_mutex_unlock(&p->mu);

	/* Shared memory only: the portal back ends hand out memfd buffers
	 * when the consumer cannot import DMA-BUFs, and a CPU encoder
	 * would read a DMA-BUF back into memory anyway. */
	uint8_t buf[256];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	params[0] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_dataType, SPA_POD_CHOICE_FLAGS_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr)));
	pw_stream_update_params(p->stream, params, 1);
}

/* parlo_pw_copy_rows converts rows of fmt into tight BGRX rows. */
void parlo_pw_copy_rows(uint8_t *dst, const uint8_t *src, int w, int h, int stride, uint32_t fmt) {
	for (int y = 0; y < h; y++) {
		const uint8_t *s = src + (size_t)y * stride;
		uint8_t *d = dst + (size_t)y * w * 4;
		switch (fmt) {
		case SPA_VIDEO_FORMAT_BGRx:
		case SPA_VIDEO_FORMAT_BGRA:
			memcpy(d, s, (size_t)w * 4);
			break;
		case SPA_VIDEO_FORMAT_RGBx:
		case SPA_VIDEO_FORMAT_RGBA:
			for (int x = 0; x < w; x++) {
				d[4 * x] = s[4 * x + 2];
				d[4 * x + 1] = s[4 * x + 1];
				d[4 * x + 2] = s[4 * x];
				d[4 * x + 3] = 0xff;
			}
			break;
		case SPA_VIDEO_FORMAT_xRGB:
		case SPA_VIDEO_FORMAT_ARGB:
			for (int x = 0; x < w; x++) {
				d[4 * x] = s[4 * x + 3];
				d[4 * x + 1] = s[4 * x + 2];
				d[4 * x + 2] = s[4 * x + 1];
				d[4 * x + 3] = 0xff;
			}
			break;
		case SPA_VIDEO_FORMAT_xBGR:
		case SPA_VIDEO_FORMAT_ABGR:
			for (int x = 0; x < w; x++) {
				d[4 * x] = s[4 * x + 1];
				d[4 * x + 1] = s[4 * x + 2];
				d[4 * x + 2] = s[4 * x + 3];
				d[4 * x + 3] = 0xff;
			}
			break;
		}
	}
}

static void on_process(void *data) {
	struct parlo_pw *p = data;
	struct pw_buffer *b = NULL, *next;
	/* Only the newest picture matters: give older ones back at once. */
	while ((next = pw_stream_dequeue_buffer(p->stream)) != NULL) {
		if (b != NULL)
			pw_stream_queue_buffer(p->stream, b);
		b = next;
	}
	if (b == NULL)
		return;
	struct spa_buffer *buf = b->buffer;
	struct spa_data *d = &buf->datas[0];
	int copied = 0;
	pthread_mutex_lock(&p->mu);
	int w = p->width, h = p->height;
	int stride = d->chunk != NULL ? d->chunk->stride : 0;
	if (stride == 0)
		stride = w * 4;
	if (d->data != NULL && d->chunk != NULL && w > 0 && h > 0 &&
			(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) == 0 &&
			d->chunk->size > 0 && stride >= w * 4 &&
			(size_t)d->chunk->offset + (size_t)stride * (h - 1) + (size_t)w * 4 <= d->maxsize) {
		size_t need = (size_t)w * h * 4;
		if (p->frame_len != need) {
			free(p->frame);
			p->frame = malloc(need);
			p->frame_len = p->frame != NULL ? need : 0;
		}
		if (p->frame != NULL) {
			parlo_pw_copy_rows(p->frame, (const uint8_t *)d->data + d->chunk->offset, w, h, stride, p->format.format);
			p->seq++;
			copied = 1;
		}
	}
	pthread_mutex_unlock(&p->mu);
	pw_stream_queue_buffer(p->stream, b);
	if (copied)
		notify(p);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.param_changed = on_param_changed,
	.process = on_process,
};

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message) {
	struct parlo_pw *p = data;
	(void)seq;
	(void)res;
	(void)message;
	if (id == PW_ID_CORE)
		set_state(p, PARLO_PW_GONE);
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

/* The screencast's node going away is how the end of the share shows on
 * our side: the stream itself only falls back to "paused" when its link
 * is removed. */
static void on_global_remove(void *data, uint32_t id) {
	struct parlo_pw *p = data;
	if (id == p->node)
		set_state(p, PARLO_PW_GONE);
}

static const struct pw_registry_events registry_events = {
	PW_VERSION_REGISTRY_EVENTS,
	.global_remove = on_global_remove,
};

parlo_pw *parlo_pw_open(int fd, uint32_t node, uintptr_t handle, char *err, size_t errlen) {
	pw_init(NULL, NULL);
	struct parlo_pw *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->handle = handle;
	p->node = node;
	p->loop = pw_thread_loop_new("parlo-screen", NULL);
	if (p->loop == NULL) {
		close(fd);
		snprintf(err, errlen, "pw_thread_loop_new: %s", strerror(errno));
		parlo_pw_close(p);
		return NULL;
	}
	pw_thread_loop_lock(p->loop);
	p->context = pw_context_new(pw_thread_loop_get_loop(p->loop), NULL, 0);
	if (p->context == NULL) {
		close(fd);
		snprintf(err, errlen, "pw_context_new: %s", strerror(errno));
		goto fail;
	}
	/* The context owns fd from here, also when connecting fails. */
	p->core = pw_context_connect_fd(p->context, fd, NULL, 0);
	if (p->core == NULL) {
		snprintf(err, errlen, "pw_context_connect_fd: %s", strerror(errno));
		goto fail;
	}
	pw_core_add_listener(p->core, &p->core_listener, &core_events, p);
	p->registry = pw_core_get_registry(p->core, PW_VERSION_REGISTRY, 0);
	if (p->registry == NULL) {
		snprintf(err, errlen, "pw_core_get_registry: %s", strerror(errno));
		goto fail;
	}
	pw_registry_add_listener(p->registry, &p->registry_listener, &registry_events, p);
	p->stream = pw_stream_new(p->core, "Parlo screen share",
		pw_properties_new(
			PW_KEY_MEDIA_TYPE, "Video",
			PW_KEY_MEDIA_CATEGORY, "Capture",
			PW_KEY_MEDIA_ROLE, "Screen",
			NULL));
	if (p->stream == NULL) {
		snprintf(err, errlen, "pw_stream_new: %s", strerror(errno));
		goto fail;
	}
	pw_stream_add_listener(p->stream, &p->stream_listener, &stream_events, p);

	uint8_t buf[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	params[0] = spa_pod_builder_add_object(&b,
		SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(9,
			SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRA,
			SPA_VIDEO_FORMAT_RGBx, SPA_VIDEO_FORMAT_RGBA,
			SPA_VIDEO_FORMAT_xRGB, SPA_VIDEO_FORMAT_ARGB,
			SPA_VIDEO_FORMAT_xBGR, SPA_VIDEO_FORMAT_ABGR),
		SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(
			&SPA_RECTANGLE(640, 480), &SPA_RECTANGLE(1, 1), &SPA_RECTANGLE(16384, 16384)),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_CHOICE_RANGE_Fraction(
			&SPA_FRACTION(30, 1), &SPA_FRACTION(0, 1), &SPA_FRACTION(1000, 1)));
	int res = pw_stream_connect(p->stream, PW_DIRECTION_INPUT, node,
		PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	if (res < 0) {
		snprintf(err, errlen, "pw_stream_connect: %s", spa_strerror(res));
		goto fail;
	}
	pw_thread_loop_unlock(p->loop);
	if (pw_thread_loop_start(p->loop) < 0) {
		snprintf(err, errlen, "pw_thread_loop_start: %s", strerror(errno));
		parlo_pw_close(p);
		return NULL;
	}
	return p;
fail:
	pw_thread_loop_unlock(p->loop);
	parlo_pw_close(p);
	return NULL;
}

int parlo_pw_copy(parlo_pw *p, uint8_t *dst, size_t dst_len, uint64_t *seq, int *w, int *h) {
	int ret = 0;
	pthread_mutex_lock(&p->mu);
	if (p->seq != *seq && p->frame != NULL) {
		*w = p->width;
		*h = p->height;
		if (dst_len < p->frame_len) {
			ret = -1;
		} else {
			memcpy(dst, p->frame, p->frame_len);
			*seq = p->seq;
			ret = 1;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return ret;
}

int parlo_pw_state(parlo_pw *p, int *w, int *h) {
	pthread_mutex_lock(&p->mu);
	int s = p->state;
	*w = p->width;
	*h = p->height;
	pthread_mutex_unlock(&p->mu);
	return s;
}

void parlo_pw_close(parlo_pw *p) {
	if (p == NULL)
		return;
	if (p->loop != NULL)
		pw_thread_loop_stop(p->loop);
	/* No callback into Go once closing: destroying the stream would
	 * report its state change synchronously. */
	if (p->stream != NULL) {
		spa_hook_remove(&p->stream_listener);
		pw_stream_destroy(p->stream);
	}
	if (p->registry != NULL) {
		spa_hook_remove(&p->registry_listener);
		pw_proxy_destroy((struct pw_proxy *)p->registry);
	}
	if (p->core != NULL) {
		spa_hook_remove(&p->core_listener);
		pw_core_disconnect(p->core);
	}
	if (p->context != NULL)
		pw_context_destroy(p->context);
	if (p->loop != NULL)
		pw_thread_loop_destroy(p->loop);
	pthread_mutex_destroy(&p->mu);
	free(p->frame);
	free(p);
}
