/* A C face for webrtc::AudioProcessing (webrtc-audio-processing 0.3), so Go
 * can reach it through cgo, which cannot call C++ directly. */
#ifndef PARLO_APM_SHIM_H
#define PARLO_APM_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parlo_apm parlo_apm;

/* parlo_apm_new makes a mono processor at rate (8000, 16000, 32000, 48000)
 * with the echo canceller in extended-filter, delay-agnostic mode. */
parlo_apm *parlo_apm_new(int rate);
void parlo_apm_free(parlo_apm *a);

/* parlo_apm_set enables or disables each stage; 0 on success. */
int parlo_apm_set(parlo_apm *a, int aec, int ns, int agc);

/* parlo_apm_render analyses one 10 ms frame of what the speaker plays. */
int parlo_apm_render(parlo_apm *a, const short *frame);

/* parlo_apm_capture cleans one 10 ms microphone frame in place; delay_ms is
 * the estimated time from render() of a sample to its echo in capture(). */
int parlo_apm_capture(parlo_apm *a, short *frame, int delay_ms);

/* parlo_apm_delay reports the canceller's delay estimate (median, ms), or -1. */
int parlo_apm_delay(parlo_apm *a);

#ifdef __cplusplus
}
#endif
#endif
