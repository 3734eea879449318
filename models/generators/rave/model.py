"""A small RAVE-style variational autoencoder for 48 kHz audio, causal and streamable.

Layout (compression ratio 2048 = 16 x 4 x 4 x 4 x 2, latent size 8):

* Encoder: every 64 samples, the log-magnitude spectrum of the last 512 samples
  (``Spectrum``), then residual blocks and strided convolutions down to one frame per
  2048 samples (23.4 Hz); a head sees those features and a pitch estimate
  (``PitchTracker``: YIN over the last 4096 samples, no learning) and gives each
  latent dimension a mean and a scale (a diagonal Gaussian).
* Decoder: residual blocks and sub-pixel upsampling (a causal convolution producing
  ``s`` times the channels, interleaved in time) up to one frame per 16 samples
  (3 kHz), then ``Synthesis``: per frame, a fundamental and the amplitudes of 48 of
  its harmonics, the levels of 8 noise bands and the gain of a learned 16-sample
  waveform; their sum goes through ``tanh``, so the output is bounded to (-1, 1).
  Training pulls the decoder's fundamental towards the pitch tracker's estimate
  (``RaveVAE.forward``), which is what puts pitch into the latents. (A plain
  convolutional decoder reached a worse validation distance in the same training
  time; a bank of fixed-frequency oscillators did better, but played every note at
  one pitch.)

Timing. Every layer is causal at its own rate: latent frame ``j`` summarises input
samples ``[2048 j, 2048 (j + 1))`` and earlier ones, and output samples
``[2048 j, 2048 (j + 1))`` depend on latent frames ``<= j`` only. So the model is
*block-causal*: a block of input gives the same block of output, aligned sample for
sample (the reconstruction of ``x[t]`` is ``y[t]``: latency 0), and a sample
influences the output from the start of its own 2048-sample block onward, never
before. A streaming host has to gather whole blocks (nn~ does), which is the delay
it adds; the model adds none (``LATENCY``).

Streaming. Every layer with memory (convolutions, the spectrum's window, the
synthesis controls and oscillator phases) keeps what it needs from the previous call
in a cache when ``streaming`` is on, so consecutive calls on consecutive blocks give
the same output as one call on the whole signal. The caches are sized lazily for the
batch they see; the exported model resets every cache when the batch size changes.
With ``streaming`` off (training), each call starts from silence, as the stream does
after a reset.

Noise. The noise bands filter white noise from a counter hash (``hash_noise``): the
value at sample ``n`` is a fixed function of ``n``. The decoder is therefore
deterministic: the same latents from the same state (after ``reset_state``) give the
same audio, unlike RAVE, which draws fresh random noise. All batch entries read the
same noise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 48000
PATCH = 16
LATENT = 8
# The exported model's delay between input and its aligned reconstruction (see above).
LATENCY = 0
F0_LOWEST, F0_OCTAVES = 40.0, 5.4


@dataclass(frozen=True)
class Config:
    """The architecture. ``strides`` times ``patch`` is the compression ratio;
    ``channels[i]`` is the width at the rate after ``i`` downsamplings (``channels[0]``
    at the patch rate; the encoder starts at ``channels[1]``, every ``patch *
    strides[0]`` samples)."""

    sample_rate: int = SAMPLE_RATE
    patch: int = PATCH
    strides: tuple[int, ...] = (4, 4, 4, 2)
    channels: tuple[int, ...] = (24, 32, 48, 64, 96)
    latent: int = LATENT
    # Residual blocks at each rate: the encoder's from its first rate down, the
    # decoder's from the patch rate down. (No dilated convolutions: torch's CPU kernel
    # for them is several times slower than for plain ones.)
    enc_blocks: tuple[int, ...] = (1, 1, 0, 0)
    dec_blocks: tuple[int, ...] = (3, 2, 1, 1, 1)
    enc_window: int = 512  # samples in each spectrum
    noise_bands: int = 8
    noise_taps: int = 97
    harmonics: int = 48
    pitch_window: int = 4096  # samples the pitch tracker looks at, per latent frame

    @property
    def ratio(self) -> int:
        return self.patch * math.prod(self.strides)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        data = dict(data)
        for key in ("strides", "channels", "enc_blocks", "dec_blocks"):
            data[key] = tuple(data[key])
        return cls(**data)


class CachedConv(nn.Module):
    """A causal 1-D convolution whose output frame ``j`` (at stride ``s``) sees input
    frames up to ``s j + s - 1``: the left ``context`` frames come from zeros (not
    streaming) or from the cache of the previous call (streaming). Input lengths must
    be multiples of the stride."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1,
                 dilation: int = 1) -> None:
        super().__init__()
        self.context = (kernel - 1) * dilation - (stride - 1)
        if self.context < 0:
            raise ValueError("kernel too short for the stride: frames would be skipped")
        self.cin = cin
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation)
        self.streaming = False
        self.register_buffer("cache", torch.zeros(0, cin, self.context), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.context > 0:
            if self.streaming:
                if self.cache.shape[0] != x.shape[0]:
                    self.cache = torch.zeros(x.shape[0], self.cin, self.context,
                                             dtype=x.dtype, device=x.device)
                x = torch.cat([self.cache, x], dim=-1)
                self.cache = x[:, :, x.shape[-1] - self.context:]
            else:
                x = F.pad(x, (self.context, 0))
        return self.conv(x)

    @torch.jit.export
    def reset(self) -> None:
        self.cache = torch.zeros(0, self.cin, self.context, dtype=self.cache.dtype,
                                 device=self.cache.device)


class Upsample(nn.Module):
    """Sub-pixel upsampling by ``factor``: a causal convolution to ``factor`` times the
    channels, interleaved in time (frame ``j`` becomes frames ``factor j .. factor j +
    factor - 1``, all from input frames ``<= j``)."""

    def __init__(self, cin: int, cout: int, factor: int, kernel: int = 3) -> None:
        super().__init__()
        self.cout, self.factor = cout, factor
        self.conv = CachedConv(cin, cout * factor, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        batch, frames = y.shape[0], y.shape[-1]
        y = y.reshape(batch, self.cout, self.factor, frames).permute(0, 1, 3, 2)
        return y.reshape(batch, self.cout, frames * self.factor)

    @torch.jit.export
    def reset(self) -> None:
        self.conv.reset()


class ResBlock(nn.Module):
    """x + 1x1(act(causal conv(act(x))))."""

    def __init__(self, channels: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv = CachedConv(channels, channels, kernel)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.leaky_relu(x, 0.2))
        return x + self.mix(F.leaky_relu(y, 0.2))

    @torch.jit.export
    def reset(self) -> None:
        self.conv.reset()


class Stack(nn.Module):
    """A sequence of cached layers, each with ``reset``."""

    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    @torch.jit.export
    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()


class Act(nn.Module):
    """LeakyReLU with a no-op ``reset`` (so it can sit in a ``Stack``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, 0.2)

    @torch.jit.export
    def reset(self) -> None:
        pass


def hash_noise(start: int, length: int, device: Optional[torch.device] = None  # noqa: UP045
               ) -> torch.Tensor:
    """White noise in [-1, 1): sample ``n`` (``start <= n < start + length``) is a fixed
    integer hash of ``n`` (32-bit multiply-xorshift rounds), so any stretch of the
    sequence can be produced on its own."""
    mask = 0xFFFFFFFF
    h = torch.arange(start, start + length, dtype=torch.int64, device=device) & mask
    h = (h * 0x9E3779B1 + 0x7F4A7C15) & mask
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & mask
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & mask
    h = h ^ (h >> 16)
    return h.to(torch.float32) * (2.0 / 4294967296.0) - 1.0


def noise_filterbank(bands: int, taps: int, sample_rate: int) -> np.ndarray:
    """Linear-phase FIR band-pass filters (Hann-windowed sinc differences) with band
    edges spaced evenly in sqrt(frequency) from 0 to Nyquist (the first band is a
    low-pass; with ~100 taps at 48 kHz a band cannot be much narrower than 1 kHz).
    Returns (bands, taps), float32."""
    nyquist = sample_rate / 2
    edges = np.linspace(0.0, np.sqrt(nyquist), bands + 1) ** 2
    n = np.arange(taps) - (taps - 1) / 2
    window = np.hanning(taps)

    def lowpass(cut: float) -> np.ndarray:
        if cut >= nyquist:
            impulse = np.zeros(taps)
            impulse[(taps - 1) // 2] = 1.0
            return impulse
        return 2 * cut / sample_rate * np.sinc(2 * cut / sample_rate * n) * window

    bank = np.stack([lowpass(hi) - (lowpass(lo) if lo > 0 else 0.0)
                     for lo, hi in itertools.pairwise(edges)])
    return bank.astype(np.float32)


class Synthesis(nn.Module):
    """The decoder's last stage, from features at the patch rate to audio, the sum of:

    * harmonics: ``harmonics`` sines at 1, 2, 3... times a fundamental (40 to 1690 Hz),
      each with its own amplitude, all per frame (those above 20 kHz muted);
    * noise: ``bands`` fixed band-pass filters over hash noise, each times a level;
    * a waveform: ``patch`` samples per frame (sub-pixel upsampling), times a gain
      (transients, and whatever the others miss);

    through ``tanh``. Amplitudes, levels and gain come per frame as ``exp(x - 5)``
    (``x`` clipped at 5, so at most 1): log-domain amplitudes, which the log-magnitude
    loss learns quickly (as RAVE's amplitude envelopes). Over each frame, every control
    (the fundamental too) moves linearly from the previous frame's value to the current
    one (the previous frame is cached when streaming); the fundamental's phase carries
    over between calls (a cache too). Phase is accumulated per frame in float64 and
    wrapped to [0, 2 pi), so one long call and many short ones give the same samples
    (to float rounding, which the phase integrates: see the tests)."""

    def __init__(self, channels: int, bands: int, taps: int, harmonics: int, patch: int,
                 sample_rate: int) -> None:
        super().__init__()
        self.bands, self.taps, self.patch, self.harmonics = bands, taps, patch, harmonics
        self.amplitudes = bands + 1 + harmonics  # noise levels, wave gain, harmonics
        self.controls = self.amplitudes + 1  # ... and the fundamental
        self.wave = Upsample(channels, 1, patch)
        self.level = nn.Conv1d(channels, self.controls, 1)
        self.register_buffer("filters", torch.from_numpy(
            noise_filterbank(bands, taps, sample_rate))[:, None, :], persistent=False)
        self.register_buffer("numbers", torch.arange(1, harmonics + 1, dtype=torch.float32),
                             persistent=False)
        self.radians_per_sample = 2 * math.pi / sample_rate
        self.max_hz = 20000.0
        self.f0_lowest, self.f0_octaves = F0_LOWEST, F0_OCTAVES
        ramp = (torch.arange(patch, dtype=torch.float32) + 1) / patch
        self.register_buffer("ramp", ramp, persistent=False)
        self.streaming = False
        # Training sets this to a random offset per batch; the stream counts from 0.
        self.offset = 0
        self.register_buffer("position", torch.zeros((), dtype=torch.int64),
                             persistent=False)
        self.register_buffer("previous", torch.zeros(0, self.controls, 1), persistent=False)
        self.register_buffer("phase", torch.zeros(0, 1, 1, dtype=torch.float64),
                             persistent=False)

    def fundamental(self, raw: torch.Tensor) -> torch.Tensor:
        """The fundamental (Hz) from the raw controls' last channel: 40 Hz x 2^(0..5.4)."""
        return self.f0_lowest * torch.exp2(self.f0_octaves
                                           * torch.sigmoid(raw[:, self.amplitudes:]))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.render(self.level(h), h)

    def render(self, raw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Raw controls (batch, controls, frames) and features -> audio."""
        batch, frames = h.shape[0], h.shape[-1]
        length = frames * self.patch
        amplitudes = torch.exp(raw[:, :self.amplitudes].clamp(max=5.0) - 5.0)
        # The fundamental learns from the pitch error alone: through the phase, the
        # spectral loss's gradient grows with time and harmonic number, and training
        # diverged within 600 steps.
        controls = torch.cat([amplitudes, self.fundamental(raw).detach()], dim=1)
        if self.streaming:
            if self.previous.shape[0] != batch:  # after a reset
                self.previous = self._start(controls)
                self.phase = torch.zeros(batch, 1, 1, dtype=torch.float64, device=h.device)
            before = torch.cat([self.previous, controls[:, :, :-1]], dim=-1)
            self.previous = controls[:, :, frames - 1:]
            phase0 = self.phase
            start = int(self.position.item())
            self.position = self.position + length
        else:
            before = torch.cat([self._start(controls), controls[:, :, :-1]], dim=-1)
            phase0 = torch.zeros(batch, 1, 1, dtype=torch.float64, device=h.device)
            start = self.offset
        # (batch, controls, frames, patch): each control ramps over each frame.
        ramp = self.ramp.to(h.dtype)
        ramped = before[..., None] + (controls - before)[..., None] * ramp
        levels = ramped[:, :self.amplitudes].reshape(batch, self.amplitudes, length)
        hz = ramped[:, self.amplitudes:].reshape(batch, 1, length)
        # Phase after sample i of a frame whose frequency ramps from f0 to f1:
        # c ((i + 1) f0 + (f1 - f0) (i + 1) (i + 2) / (2 patch)), c = 2 pi / rate,
        # from the frame's start phase (accumulated over frames in float64).
        f0 = before[:, self.amplitudes:] * self.radians_per_sample
        df = controls[:, self.amplitudes:] * self.radians_per_sample - f0
        count = ramp * self.patch  # i + 1
        within = f0[..., None] * count + df[..., None] * (count * (count + 1) / (2 * self.patch))
        totals = (f0 * self.patch + df * ((self.patch + 1) / 2)).double()
        ends = phase0 + torch.cumsum(totals, dim=-1)
        starts = torch.remainder(torch.cat([phase0, ends[..., :-1]], dim=-1), 2 * math.pi)
        if self.streaming:
            self.phase = torch.remainder(ends[..., frames - 1:], 2 * math.pi)
        phase = (starts.to(h.dtype)[..., None] + within).reshape(batch, 1, length)
        numbers = self.numbers.to(h.dtype)[:, None]  # (harmonics, 1)
        audible = (hz * numbers < self.max_hz).to(h.dtype)
        harmonic = levels[:, self.bands + 1:] * audible * torch.sin(phase * numbers)
        white = hash_noise(start - self.taps + 1, length + self.taps - 1, h.device)
        noise = F.conv1d(white.to(h.dtype)[None, None, :], self.filters.to(h.dtype))
        noise = (levels[:, :self.bands] * noise).sum(dim=1, keepdim=True)
        wave = self.wave(h) * levels[:, self.bands:self.bands + 1]
        return torch.tanh(harmonic.sum(dim=1, keepdim=True) + noise + wave)

    def _start(self, controls: torch.Tensor) -> torch.Tensor:
        """The controls before the first frame: silent, the fundamental where it starts."""
        silent = torch.zeros_like(controls[:, :self.amplitudes, :1])
        return torch.cat([silent, controls[:, self.amplitudes:, :1]], dim=1)

    @torch.jit.export
    def reset(self) -> None:
        self.wave.reset()
        self.previous = torch.zeros(0, self.controls, 1, dtype=self.previous.dtype,
                                    device=self.previous.device)
        self.phase = torch.zeros(0, 1, 1, dtype=torch.float64, device=self.phase.device)
        self.position = torch.zeros((), dtype=torch.int64, device=self.position.device)


class PitchTracker(nn.Module):
    """A fundamental estimate per latent frame (YIN, no learning): over the last
    ``window`` samples (the block's end included), the cumulative-mean-normalised
    difference function d'(lag); the first lag between 1/1200 s and 1/40 s where d'
    falls below 0.15 (then down to its local minimum), else the lowest d', refined by a
    parabola. Returns (batch, 2, frames): log2(f0 / 220 Hz) and the confidence
    1 - d' (0..1; noise and silence score low)."""

    def __init__(self, window: int, hop: int, sample_rate: int, lowest: float = 40.0,
                 highest: float = 1200.0, threshold: float = 0.15) -> None:
        super().__init__()
        self.window, self.hop, self.context = window, hop, window - hop
        self.sample_rate, self.threshold = sample_rate, threshold
        self.min_lag = int(sample_rate / highest)
        self.max_lag = math.ceil(sample_rate / lowest)
        lags = torch.arange(self.max_lag + 2)
        self.register_buffer("head_end", (window - 1 - lags).clamp(min=0), persistent=False)
        self.register_buffer("counts", torch.arange(1, self.max_lag + 2, dtype=torch.float32),
                             persistent=False)
        self.streaming = False
        self.register_buffer("cache", torch.zeros(0, 1, self.context), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        if self.streaming:
            if self.cache.shape[0] != x.shape[0]:
                self.cache = torch.zeros(x.shape[0], 1, self.context, dtype=x.dtype,
                                         device=x.device)
            x = torch.cat([self.cache, x], dim=-1)
            self.cache = x[:, :, x.shape[-1] - self.context:]
        else:
            x = F.pad(x, (self.context, 0))
        frames = x[:, 0].unfold(-1, self.window, self.hop)  # (batch, frames, window)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        spectrum = torch.fft.rfft(frames, n=2 * self.window)
        acf = torch.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=2 * self.window)
        acf = acf[..., :self.max_lag + 2]
        energy = torch.cumsum(frames * frames, dim=-1)
        total = energy[..., -1:]
        head = energy.index_select(-1, self.head_end)  # sum of x[n]^2, n < window - lag
        tail = total - F.pad(energy[..., :self.max_lag + 1], (1, 0))  # n >= lag
        diff = (head + tail - 2 * acf)[..., 1:]  # lags 1..max_lag + 1
        norm = diff / (torch.cumsum(diff, dim=-1) / self.counts).clamp_min(1e-12)
        seg = norm[..., self.min_lag - 1:self.max_lag]  # lags min_lag..max_lag
        below = seg < self.threshold
        index = torch.where(below.any(dim=-1), torch.argmax(below.to(torch.int32), dim=-1),
                            torch.argmin(seg, dim=-1))
        last = seg.shape[-1] - 1
        for _ in range(8):  # from the first crossing down to the local minimum
            step = (index + 1).clamp(max=last)
            here = seg.gather(-1, index[..., None])[..., 0]
            index = torch.where(seg.gather(-1, step[..., None])[..., 0] < here, step, index)
        a = seg.gather(-1, (index - 1).clamp(min=0)[..., None])[..., 0]
        b = seg.gather(-1, index[..., None])[..., 0]
        c = seg.gather(-1, (index + 1).clamp(max=last)[..., None])[..., 0]
        curve = a - 2 * b + c
        shift = torch.where(curve.abs() > 1e-9, 0.5 * (a - c) / curve, torch.zeros_like(curve))
        lag = (index + self.min_lag).to(x.dtype) + shift.clamp(-1.0, 1.0)
        pitch = torch.log2(self.sample_rate / lag / 220.0)
        confidence = (1 - b).clamp(0.0, 1.0)
        return torch.stack([pitch, confidence], dim=1)

    @torch.jit.export
    def reset(self) -> None:
        self.cache = torch.zeros(0, 1, self.context, dtype=self.cache.dtype,
                                 device=self.cache.device)


class Spectrum(nn.Module):
    """Causal log-magnitude spectra: every ``hop`` samples, the Hann-windowed FFT of the
    last ``window`` samples (the block's end included; earlier samples from the cache or
    zeros), as ``log(|X| / sqrt(window) + 1e-3)``, scaled to about unit range and mapped
    to ``channels`` by a 1x1 convolution. (batch, 1, samples) -> (batch, channels,
    samples / hop)."""

    def __init__(self, window: int, hop: int, channels: int) -> None:
        super().__init__()
        self.window, self.hop, self.context = window, hop, window - hop
        self.register_buffer("hann", torch.hann_window(window) / math.sqrt(window),
                             persistent=False)
        self.proj = nn.Conv1d(window // 2 + 1, channels, 1)
        self.streaming = False
        self.register_buffer("cache", torch.zeros(0, 1, self.context), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.streaming:
            if self.cache.shape[0] != x.shape[0]:
                self.cache = torch.zeros(x.shape[0], 1, self.context, dtype=x.dtype,
                                         device=x.device)
            x = torch.cat([self.cache, x], dim=-1)
            self.cache = x[:, :, x.shape[-1] - self.context:]
        else:
            x = F.pad(x, (self.context, 0))
        frames = x[:, 0].unfold(-1, self.window, self.hop)  # (batch, frames, window)
        magnitude = torch.fft.rfft(frames * self.hann, dim=-1).abs()
        logmag = (torch.log(magnitude + 1e-3) + 4.0) / 3.0
        return self.proj(logmag.transpose(1, 2))

    @torch.jit.export
    def reset(self) -> None:
        self.cache = torch.zeros(0, 1, self.context, dtype=self.cache.dtype,
                                 device=self.cache.device)


class Encoder(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        ch = cfg.channels
        layers: list[nn.Module] = [Spectrum(cfg.enc_window, cfg.patch * cfg.strides[0],
                                            ch[1])]
        for i in range(1, len(cfg.strides)):
            stride = cfg.strides[i]
            layers += [ResBlock(ch[i]) for _ in range(cfg.enc_blocks[i - 1])]
            layers += [Act(), CachedConv(ch[i], ch[i + 1], 2 * stride, stride=stride)]
        layers += [ResBlock(ch[-1]) for _ in range(cfg.enc_blocks[-1])]
        layers += [Act()]
        self.net = Stack(layers)
        self.pitch = PitchTracker(cfg.pitch_window, cfg.ratio, cfg.sample_rate)
        self.head = CachedConv(ch[-1] + 2, 2 * cfg.latent, 3)
        self.latent = cfg.latent

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Audio (batch, 1, samples) -> latent mean and standard deviation, each
        (batch, latent, samples / ratio), and the pitch tracker's (log2 f0 / 220 Hz,
        confidence) per latent frame (which the head sees too)."""
        pitch = self.pitch(x)
        out = self.head(torch.cat([self.net(x), pitch], dim=1))
        mean, scale = out[:, :self.latent], out[:, self.latent:]
        # Offset so the posterior starts narrow (std ~0.02): with a wide one the decoder
        # learns to ignore the latents first, and they stay unused (posterior collapse).
        return mean, F.softplus(scale - 4.0) + 1e-4, pitch

    @torch.jit.export
    def reset(self) -> None:
        self.net.reset()
        self.pitch.reset()
        self.head.reset()


class Decoder(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        ch = cfg.channels
        layers: list[nn.Module] = [CachedConv(cfg.latent, ch[-1], 3)]
        levels = len(cfg.strides)
        for i in range(levels, 0, -1):
            layers += [ResBlock(ch[i]) for _ in range(cfg.dec_blocks[i])]
            layers += [Act(), Upsample(ch[i], ch[i - 1], cfg.strides[i - 1])]
        layers += [ResBlock(ch[0]) for _ in range(cfg.dec_blocks[0])]
        layers += [Act()]
        self.net = Stack(layers)
        self.synth = Synthesis(ch[0], cfg.noise_bands, cfg.noise_taps, cfg.harmonics,
                               cfg.patch, cfg.sample_rate)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (batch, latent, frames) -> audio (batch, 1, frames * ratio) in (-1, 1)."""
        return self.synth(self.net(z))

    @torch.jit.export
    def reset(self) -> None:
        self.net.reset()
        self.synth.reset()


def _init_conv(module: nn.Module) -> None:
    """He initialisation for the LeakyReLU(0.2) layers, zero biases: with torch's default
    (a third of the variance per layer) the signal fades under the biases within a few
    layers and every input gives the same latents."""
    if isinstance(module, nn.Conv1d):
        nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class RaveVAE(nn.Module):
    """The trainable model: ``encoder``, ``decoder``, and the latent statistics that
    the export uses (``latent_mean``, ``latent_pca``, ``fidelity``; set by
    ``fit_latent_pca`` after training)."""

    def __init__(self, cfg: Config | None = None) -> None:
        super().__init__()
        self.cfg = cfg or Config()
        self.encoder = Encoder(self.cfg)
        self.decoder = Decoder(self.cfg)
        latent = self.cfg.latent
        self.apply(_init_conv)
        with torch.no_grad():  # controls start flat: exp(-7) noise and harmonics, exp(-4)
            synth = self.decoder.synth  # wave gain, fundamental 220 Hz
            synth.level.weight.mul_(0.1)
            synth.level.bias[:synth.amplitudes] = -2.0
            synth.level.bias[synth.bands] = 1.0
            synth.level.bias[-1] = math.log(math.log2(220 / F0_LOWEST) / F0_OCTAVES
                                            / (1 - math.log2(220 / F0_LOWEST) / F0_OCTAVES))
        self.register_buffer("latent_mean", torch.zeros(latent))
        self.register_buffer("latent_pca", torch.eye(latent))
        self.register_buffer("fidelity", torch.linspace(1 / latent, 1.0, latent))

    def set_streaming(self, streaming: bool) -> None:
        for module in self.modules():
            if hasattr(module, "streaming"):
                module.streaming = streaming

    def reset(self) -> None:
        self.encoder.reset()
        self.decoder.reset()

    def forward(self, x: torch.Tensor, sample: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Audio -> (reconstruction, KL divergence per latent frame summed over
        dimensions and averaged over frames and batch, pitch error).

        The pitch error: on each latent frame, the octaves between the decoder's
        fundamental (averaged over the frame) and the pitch tracker's estimate, weighted
        by the tracker's confidence squared where the input is above -50 dBFS (RMS), and
        averaged. It teaches the decoder's fundamental to follow pitch, which spectral
        losses alone do poorly, and so puts pitch in the latents."""
        mean, std, pitch = self.encoder(x)
        z = mean + std * torch.randn_like(std) if sample else mean
        kl = 0.5 * (mean**2 + std**2 - 1 - 2 * torch.log(std)).sum(1).mean()
        synth = self.decoder.synth
        h = self.decoder.net(z)
        raw = synth.level(h)
        y = synth.render(raw, h)
        batch, frames = pitch.shape[0], pitch.shape[-1]
        predicted = torch.log2(synth.fundamental(raw) / 220.0)
        predicted = predicted.reshape(batch, frames, -1).mean(dim=-1)
        rms = x.reshape(batch, frames, -1).pow(2).mean(dim=-1).sqrt()
        weight = pitch[:, 1] ** 2 * (rms > 10 ** (-50 / 20)).to(x.dtype)
        error = (weight * (predicted - pitch[:, 0]).abs()).sum() / weight.sum().clamp_min(1.0)
        return y, kl, error

    @torch.no_grad()
    def fit_latent_pca(self, means: torch.Tensor) -> None:
        """Set ``latent_mean``, ``latent_pca`` (rows: principal directions, by falling
        variance) and ``fidelity`` (cumulative fraction of variance explained by the
        first k+1 directions) from posterior means (latent, frames)."""
        mu = means.mean(dim=1)
        centred = means - mu[:, None]
        cov = centred @ centred.T / max(1, means.shape[1] - 1)
        values, vectors = torch.linalg.eigh(cov.double())
        order = torch.argsort(values, descending=True)
        values, vectors = values[order].clamp_min(0), vectors[:, order]
        # A fixed sign per direction (largest component positive): reproducible exports.
        signs = torch.sign(vectors[vectors.abs().argmax(dim=0), torch.arange(len(values))])
        vectors = vectors * torch.where(signs == 0, 1.0, signs)
        self.latent_mean.copy_(mu)
        self.latent_pca.copy_(vectors.T.float())
        self.fidelity.copy_((values.cumsum(0) / values.sum().clamp_min(1e-12)).float())


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
