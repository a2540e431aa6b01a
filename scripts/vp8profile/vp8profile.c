/*
 * vp8profile encodes a 1080p screen the way Parlo's share does (the libvpx
 * settings of capture.NewVP8Encoder with ScreenContent, one thread) so that
 * callgrind can say where libvpx spends its instructions. It links libvpx.a
 * statically: Debian's shared libvpx exports no internal symbols.
 *
 *   vp8profile FRAMES SCENE
 *
 * SCENE is one of
 *   settled  nothing changes; every macroblock inactive (VP8E_SET_ACTIVEMAP)
 *   typing   one 8x14 glyph changes per frame; its two macroblock rows active
 *   caret    the same glyph, only its macroblocks active (a column-precise map)
 *   motion   the whole picture moves; no active map
 *
 * The first frame (a keyframe) is encoded outside encode_scene, so
 * callgrind --toggle-collect='encode_scene*' counts the steady state only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

enum { W = 1920, H = 1080, MB_ROWS = (H + 15) / 16, MB_COLS = (W + 15) / 16 };
enum scene { SETTLED, TYPING, CARET, MOTION };

static void paint(vpx_image_t *img, int shift) {
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			img->planes[0][y * img->stride[0] + x] = (unsigned char)(((x + shift) / 7 + y / 3) % 200 + 20);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < H / 2; y++)
			for (int x = 0; x < W / 2; x++)
				img->planes[p][y * img->stride[p] + x] = (unsigned char)(128 + ((x + shift + y) % 32) - 16);
}

static long drain(vpx_codec_ctx_t *c) {
	long bytes = 0;
	vpx_codec_iter_t it = NULL;
	const vpx_codec_cx_pkt_t *p;
	while ((p = vpx_codec_get_cx_data(c, &it)))
		if (p->kind == VPX_CODEC_CX_FRAME_PKT)
			bytes += (long)p->data.frame.sz;
	return bytes;
}

enum { MOTION_PICTURES = 8 };

/* encode_scene encodes frames pictures of scene s after the keyframe; the
 * moving pictures are painted beforehand so that only libvpx is counted. */
__attribute__((noinline)) static long encode_scene(vpx_codec_ctx_t *c, vpx_image_t *img, vpx_image_t *moving, int frames, enum scene s) {
	static unsigned char map[MB_ROWS * MB_COLS];
	long bytes = 0;
	for (int i = 1; i <= frames; i++) {
		vpx_image_t *pic = img;
		if (s == MOTION) {
			pic = &moving[i % MOTION_PICTURES];
		} else if (s != SETTLED) {
			int x0 = 600 + (i % 8) * 9;
			for (int y = 400; y < 414; y++)
				memset(img->planes[0] + y * img->stride[0] + x0, (i & 1) ? 16 : 235, 8);
		}
		if (s != MOTION) {
			memset(map, 0, sizeof map);
			for (int r = 400 / 16; r <= 413 / 16; r++) {
				if (s == TYPING)
					memset(map + r * MB_COLS, 1, MB_COLS);
				if (s == CARET)
					memset(map + r * MB_COLS + 600 / 16, 1, (600 + 8 * 9) / 16 - 600 / 16 + 1);
			}
			vpx_active_map_t m = {map, MB_ROWS, MB_COLS};
			vpx_codec_control(c, VP8E_SET_ACTIVEMAP, &m);
		}
		if (vpx_codec_encode(c, pic, (vpx_codec_pts_t)i * 33333, 33333, 0, VPX_DL_REALTIME)) {
			fprintf(stderr, "encode: %s\n", vpx_codec_error(c));
			exit(1);
		}
		bytes += drain(c);
	}
	return bytes;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: %s FRAMES settled|typing|caret|motion\n", argv[0]);
		return 2;
	}
	int frames = atoi(argv[1]);
	enum scene s = SETTLED;
	if (!strcmp(argv[2], "typing")) s = TYPING;
	else if (!strcmp(argv[2], "caret")) s = CARET;
	else if (!strcmp(argv[2], "motion")) s = MOTION;
	else if (strcmp(argv[2], "settled")) { fprintf(stderr, "unknown scene %s\n", argv[2]); return 2; }
	const char *cu = getenv("CPU_USED");
	int cpuUsed = cu ? atoi(cu) : 12;

	vpx_codec_enc_cfg_t cfg;
	vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0);
	cfg.g_w = W; cfg.g_h = H;
	cfg.g_timebase.num = 1; cfg.g_timebase.den = 1000000;
	cfg.g_threads = 1; cfg.g_lag_in_frames = 0;
	cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	cfg.rc_end_usage = VPX_CBR; cfg.rc_target_bitrate = 2500;
	cfg.rc_min_quantizer = 2; cfg.rc_max_quantizer = 56;
	cfg.rc_undershoot_pct = 100; cfg.rc_overshoot_pct = 15;
	cfg.rc_buf_initial_sz = 500; cfg.rc_buf_optimal_sz = 600; cfg.rc_buf_sz = 1000;
	cfg.rc_dropframe_thresh = 0; cfg.kf_mode = VPX_KF_DISABLED;
	vpx_codec_ctx_t c;
	if (vpx_codec_enc_init(&c, vpx_codec_vp8_cx(), &cfg, 0)) {
		fprintf(stderr, "init: %s\n", vpx_codec_error(&c));
		return 1;
	}
	vpx_codec_control(&c, VP8E_SET_CPUUSED, cpuUsed);
	vpx_codec_control(&c, VP8E_SET_STATIC_THRESHOLD, 1);
	vpx_codec_control(&c, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(&c, VP8E_SET_TOKEN_PARTITIONS, 0);
	vpx_codec_control(&c, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
	vpx_codec_control(&c, VP8E_SET_SCREEN_CONTENT_MODE, 1);

	vpx_image_t img;
	vpx_img_alloc(&img, VPX_IMG_FMT_I420, W, H, 1);
	paint(&img, 0);
	vpx_codec_encode(&c, &img, 0, 33333, 0, VPX_DL_REALTIME);
	drain(&c);
	vpx_image_t moving[MOTION_PICTURES];
	for (int i = 0; i < MOTION_PICTURES; i++) {
		vpx_img_alloc(&moving[i], VPX_IMG_FMT_I420, W, H, 1);
		paint(&moving[i], s == MOTION ? (i + 1) * 4 : 0);
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long bytes = encode_scene(&c, &img, moving, frames, s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / frames;
	printf("%s cpu-used %d: %.2f ms/frame (wall), %ld bytes/frame\n", argv[2], cpuUsed, ms, bytes / frames);
	vpx_img_free(&img);
	for (int i = 0; i < MOTION_PICTURES; i++)
		vpx_img_free(&moving[i]);
	vpx_codec_destroy(&c);
	return 0;
}
