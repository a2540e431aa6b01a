#include "apm_shim.h"

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

struct parlo_apm {
  webrtc::AudioProcessing *apm;
  int rate;
  int frames;
};

extern "C" parlo_apm *parlo_apm_new(int rate) {
  webrtc::Config config;
  // Extended filter: 128 ms of echo tail instead of 48, and robust to delay
  // reports that are off, which a sound server's buffering makes them.
  config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  // Delay-agnostic: the canceller estimates the render-to-capture delay
  // itself, since no desktop audio API reports it exactly.
  config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  // The "experimental" AGC drives an analog mixer volume; Parlo uses the
  // digital AGC, so it must be off or it fights the digital one.
  config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create(config);
  if (!apm) return nullptr;
  webrtc::ProcessingConfig pc = {{
      webrtc::StreamConfig(rate, 1), webrtc::StreamConfig(rate, 1),
      webrtc::StreamConfig(rate, 1), webrtc::StreamConfig(rate, 1)}};
  if (apm->Initialize(pc) != webrtc::AudioProcessing::kNoError) {
    delete apm;
    return nullptr;
  }
  apm->high_pass_filter()->Enable(true);
  apm->echo_cancellation()->enable_drift_compensation(false);
  apm->echo_cancellation()->set_suppression_level(
      webrtc::EchoCancellation::kHighSuppression);
  apm->echo_cancellation()->enable_delay_logging(true);
  apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
  apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
  apm->gain_control()->set_target_level_dbfs(3);
  apm->gain_control()->set_compression_gain_db(9);
  apm->gain_control()->enable_limiter(true);
  parlo_apm *a = new parlo_apm;
  a->apm = apm;
  a->rate = rate;
  a->frames = rate / 100;
  return a;
}

extern "C" void parlo_apm_free(parlo_apm *a) {
  if (!a) return;
  delete a->apm;
  delete a;
}

extern "C" int parlo_apm_set(parlo_apm *a, int aec, int ns, int agc) {
  int err = a->apm->echo_cancellation()->Enable(aec != 0);
  if (err == 0) err = a->apm->noise_suppression()->Enable(ns != 0);
  if (err == 0) err = a->apm->gain_control()->Enable(agc != 0);
  return err;
}

static void fill(webrtc::AudioFrame *f, const parlo_apm *a, const short *s) {
  f->sample_rate_hz_ = a->rate;
  f->num_channels_ = 1;
  f->samples_per_channel_ = a->frames;
  for (int i = 0; i < a->frames; i++) f->data_[i] = s[i];
}

extern "C" int parlo_apm_render(parlo_apm *a, const short *frame) {
  webrtc::AudioFrame f;
  fill(&f, a, frame);
  return a->apm->ProcessReverseStream(&f);
}

extern "C" int parlo_apm_capture(parlo_apm *a, short *frame, int delay_ms) {
  webrtc::AudioFrame f;
  fill(&f, a, frame);
  a->apm->set_stream_delay_ms(delay_ms);
  int err = a->apm->ProcessStream(&f);
  for (int i = 0; i < a->frames; i++) frame[i] = f.data_[i];
  return err;
}

extern "C" int parlo_apm_delay(parlo_apm *a) {
  int median = -1, std = -1;
  float poor = 0;
  if (a->apm->echo_cancellation()->GetDelayMetrics(&median, &std, &poor) != 0)
    return -1;
  return median;
}
