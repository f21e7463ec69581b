"""Diffusion backbones: the diffusers models behind reward fine-tuning, built tiny or loaded from disk.

A :class:`DiffusionBackbone` bundles the denoiser and what surrounds it, for four kinds:

* ``"pixel"``: a pixel-space ``UNet2DModel``; prompts are class labels from a fixed prompt list;
* ``"latent"``: Stable-Diffusion style ``UNet2DConditionModel`` + ``AutoencoderKL`` + CLIP text encoder;
* ``"video"``: ``UNet3DConditionModel`` (ModelScope text-to-video layout) + VAE + CLIP text encoder;
* ``"controlnet"``: the latent kind plus a ``ControlNetModel`` fed a condition map.

It exposes one interface to the algorithms: :meth:`encode_prompts`, :meth:`predict_noise` (with
classifier-free guidance and ControlNet residuals), :meth:`decode` to images in ``[0, 1]`` and
:meth:`encode` from images. ``save_pretrained`` writes a standard diffusers pipeline folder
(``model_index.json`` + component subfolders) and ``from_pretrained`` reads any such local folder;
nothing is downloaded.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from gendesign.core.errors import ConfigError, GendesignError, require
from gendesign.core.files import check_tree, file_in

BackboneKind = Literal["pixel", "latent", "video", "controlnet"]
META_FILE = "gendesign_backbone.json"


class TinyBackboneConfig(BaseModel):
    """A backbone built from config with random weights (tests, demos, benchmarks).

    Attributes:
        kind: which model family to build.
        image_size: generated image side in pixels.
        num_frames: frames per clip (``"video"`` only).
        block_out_channels: UNet channels per resolution level.
        layers_per_block: ResNet layers per UNet level.
        latent_channels: VAE latent channels (latent kinds).
        text_dim: CLIP text hidden size and cross-attention width (latent kinds).
        prompts: the prompt vocabulary of a ``"pixel"`` backbone (one class embedding each).
        num_train_timesteps: ``T`` of the DDPM noise schedule.
        seed: weight initialisation seed.
    """

    model_config = ConfigDict(extra="forbid")

    kind: BackboneKind = "pixel"
    image_size: int = Field(16, ge=8, le=256)
    num_frames: int = Field(4, ge=1)
    block_out_channels: tuple[int, ...] = (16, 32)
    layers_per_block: int = Field(1, ge=1)
    latent_channels: int = Field(4, ge=1)
    text_dim: int = Field(16, ge=8)
    prompts: list[str] = Field(default_factory=list)
    num_train_timesteps: int = Field(1000, ge=10)
    seed: int = 0


@dataclass
class Conditioning:
    """What the denoiser is conditioned on for a batch of ``B`` samples.

    Attributes:
        prompts: the ``B`` prompts.
        text: `[B, L, D]` text-encoder states, or None (pixel kind).
        uncond_text: `[B, L, D]` empty-prompt states for classifier-free guidance, or None.
        class_labels: `[B]` class ids (pixel kind), or None.
        control: `[B, C_c, H, W]` condition maps in ``[0, 1]`` (ControlNet), or None.
        guidance_scale: CFG weight ``w``; ``ε = ε_u + w (ε_c - ε_u)``; 1 disables guidance.
    """

    prompts: list[str]
    text: Tensor | None = None
    uncond_text: Tensor | None = None
    class_labels: Tensor | None = None
    control: Tensor | None = None
    guidance_scale: float = 1.0

    def select(self, index: Tensor | slice) -> Conditioning:
        """The conditioning of a sub-batch."""

        def pick(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[index]

        idx = index.tolist() if isinstance(index, Tensor) else list(range(len(self.prompts)))[index]
        return Conditioning(
            prompts=[self.prompts[i] for i in idx],
            text=pick(self.text),
            uncond_text=pick(self.uncond_text),
            class_labels=pick(self.class_labels),
            control=pick(self.control),
            guidance_scale=self.guidance_scale,
        )


class DiffusionBackbone(nn.Module):
    """A denoiser with its scheduler, autoencoder, text encoder and ControlNet, behind one interface.

    Args:
        kind: model family (see the module docstring).
        unet: the denoiser.
        scheduler: any diffusers scheduler; its ``alphas_cumprod`` and config define the DDIM grid.
        vae: ``AutoencoderKL`` for latent kinds.
        text_encoder: ``CLIPTextModel`` for latent kinds.
        tokenizer: ``CLIPTokenizer`` for latent kinds.
        controlnet: ``ControlNetModel`` for the ``"controlnet"`` kind.
        class_prompts: prompt vocabulary of a pixel backbone with class embeddings.
    """

    def __init__(
        self,
        kind: BackboneKind,
        unet: nn.Module,
        scheduler: Any,
        vae: nn.Module | None = None,
        text_encoder: nn.Module | None = None,
        tokenizer: Any = None,
        controlnet: nn.Module | None = None,
        class_prompts: list[str] | None = None,
    ) -> None:
        super().__init__()
        if kind != "pixel" and (vae is None or text_encoder is None or tokenizer is None):
            raise ConfigError(f"a {kind!r} backbone needs vae, text_encoder and tokenizer")
        if kind == "controlnet" and controlnet is None:
            raise ConfigError("a 'controlnet' backbone needs a ControlNetModel")
        self.kind = kind
        self.unet = unet
        self.vae = vae
        self.text_encoder = text_encoder
        self.controlnet = controlnet
        self.tokenizer = tokenizer
        self.scheduler = scheduler
        self.class_prompts = list(class_prompts or [])
        for module in (vae, text_encoder):
            if module is not None:
                module.requires_grad_(False)
                module.eval()
        self.register_buffer("alphas_cumprod", torch.as_tensor(scheduler.alphas_cumprod, dtype=torch.float32), persistent=False)

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler.config.num_train_timesteps)

    @property
    def prediction_type(self) -> str:
        return str(self.scheduler.config.get("prediction_type", "epsilon"))

    @property
    def latent_scale(self) -> float:
        return float(self.vae.config.scaling_factor) if self.vae is not None else 1.0

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def num_frames(self) -> int | None:
        return self._num_frames if self.kind == "video" else None

    _num_frames: int = 4

    def set_num_frames(self, num_frames: int) -> None:
        self._num_frames = int(num_frames)

    def latent_shape(self, batch: int, image_size: int) -> tuple[int, ...]:
        """Shape of the initial noise for ``batch`` samples of side ``image_size`` pixels."""
        if self.kind == "pixel":
            return (batch, int(self.unet.config.in_channels), image_size, image_size)
        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        if image_size % factor:
            raise ConfigError(f"image_size={image_size} must be a multiple of the VAE downsampling factor {factor}")
        side = image_size // factor
        channels = int(self.unet.config.in_channels)
        if self.kind == "video":
            return (batch, channels, self._num_frames, side, side)
        return (batch, channels, side, side)

    def encode_prompts(self, prompts: list[str], *, guidance_scale: float = 1.0, control: Tensor | None = None) -> Conditioning:
        """Text states (or class labels) for ``prompts``; adds empty-prompt states when ``guidance_scale != 1``."""
        if self.kind == "pixel":
            if not self.class_prompts:
                return Conditioning(prompts=list(prompts), control=control)
            unknown = sorted({p for p in prompts if p not in self.class_prompts})
            if unknown:
                raise ConfigError(
                    f"prompts {unknown} are not in this pixel backbone's prompt vocabulary {self.class_prompts}; "
                    "a pixel model is class-conditional, so use one of those prompts"
                )
            labels = torch.tensor([self.class_prompts.index(p) for p in prompts], device=self.device)
            return Conditioning(prompts=list(prompts), class_labels=labels, control=control)
        text = self._embed_text(list(prompts))
        uncond = self._embed_text([""] * len(prompts)) if guidance_scale != 1.0 else None
        return Conditioning(prompts=list(prompts), text=text, uncond_text=uncond, control=control, guidance_scale=guidance_scale)

    @torch.no_grad()
    def _embed_text(self, prompts: list[str]) -> Tensor:
        ids = self.tokenizer(
            prompts, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(self.device)
        return self.text_encoder(ids)[0]

    def predict_noise(self, x: Tensor, t: Tensor | int, cond: Conditioning, *, unet: nn.Module | None = None) -> Tensor:
        """``ε̂(x_t, t, c)`` `[B, ...]` with CFG; v-prediction models are converted to ``ε``.

        Args:
            x: `[B, C, H, W]` (or `[B, C, F, H, W]` for video) noisy latents ``x_t``.
            t: scalar or `[B]` DDPM timesteps.
            cond: the conditioning of the ``B`` samples.
            unet: the denoiser to call (a distributed wrapper of :attr:`unet`); defaults to :attr:`unet`.
        """
        unet = unet if unet is not None else self.unet
        b = x.shape[0]
        t = torch.as_tensor(t, device=x.device)
        t = t.expand(b) if t.ndim == 0 else t
        guided = cond.guidance_scale != 1.0 and cond.uncond_text is not None
        if guided:
            x_in, t_in = torch.cat([x, x]), torch.cat([t, t])
            text = torch.cat([cond.uncond_text, cond.text])  # type: ignore[list-item]
            control = None if cond.control is None else torch.cat([cond.control, cond.control])
        else:
            x_in, t_in, text, control = x, t, cond.text, cond.control
        out = self._denoise(unet, x_in, t_in, text, cond.class_labels, control)
        if self.prediction_type == "v_prediction":
            a = self.alphas_cumprod[t_in].view(-1, *([1] * (x.ndim - 1)))
            out = a.sqrt() * out + (1 - a).sqrt() * x_in
        elif self.prediction_type != "epsilon":
            raise ConfigError(f"prediction_type={self.prediction_type!r} is not supported; use 'epsilon' or 'v_prediction'")
        if guided:
            eps_u, eps_c = out.chunk(2)
            return eps_u + cond.guidance_scale * (eps_c - eps_u)
        return out

    def _denoise(
        self, unet: nn.Module, x: Tensor, t: Tensor, text: Tensor | None, labels: Tensor | None, control: Tensor | None
    ) -> Tensor:
        if self.kind == "pixel":
            return unet(x, t, class_labels=labels).sample
        if self.kind == "controlnet":
            if control is None:
                raise ConfigError("a 'controlnet' backbone needs condition maps; give the samples a control image")
            ctrl = self._control_input(control)
            down, mid = self.controlnet(x, t, encoder_hidden_states=text, controlnet_cond=ctrl, return_dict=False)
            return unet(x, t, encoder_hidden_states=text, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
        return unet(x, t, encoder_hidden_states=text).sample

    def _control_input(self, control: Tensor) -> Tensor:
        need = int(self.controlnet.config.conditioning_channels)  # type: ignore[union-attr]
        if control.shape[1] == need:
            return control
        if control.shape[1] == 1:
            return control.expand(-1, need, -1, -1)
        raise ConfigError(f"condition maps have {control.shape[1]} channels; this ControlNet takes {need} (or 1, broadcast)")

    def decode(self, x0: Tensor) -> Tensor:
        """Images in ``[0, 1]`` from clean latents: `[B, 3, H, W]`, or `[B, F, 3, H, W]` for video.

        Pixel kind: ``(x + 1) / 2``; latent kinds: ``(VAE.decode(x / s) + 1) / 2`` with ``s`` the latent
        scaling factor. Values are clamped to ``[0, 1]`` with a straight-through gradient so that
        saturated pixels still pass the reward gradient.
        """
        if self.kind == "pixel":
            images = (x0 + 1) / 2
        elif self.kind == "video":
            b, c, f, h, w = x0.shape
            frames = x0.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
            decoded = self.vae.decode(frames / self.latent_scale).sample  # type: ignore[union-attr]
            images = ((decoded + 1) / 2).reshape(b, f, *decoded.shape[1:])
        else:
            images = (self.vae.decode(x0 / self.latent_scale).sample + 1) / 2  # type: ignore[union-attr]
        return images + (images.clamp(0, 1) - images).detach()

    def encode(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Clean latents ``x_0`` from images in ``[0, 1]`` (`[B, 3, H, W]` or `[B, F, 3, H, W]` for video).

        Latent kinds use the VAE posterior mean times the scaling factor (deterministic).
        """
        x = images * 2 - 1
        if self.kind == "pixel":
            return x
        with torch.no_grad():
            if self.kind == "video":
                b, f = x.shape[:2]
                z = self.vae.encode(x.flatten(0, 1)).latent_dist.mean * self.latent_scale  # type: ignore[union-attr]
                return z.reshape(b, f, *z.shape[1:]).permute(0, 2, 1, 3, 4)
            return self.vae.encode(x).latent_dist.mean * self.latent_scale  # type: ignore[union-attr]

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write a standard diffusers pipeline folder plus ``gendesign_backbone.json``."""
        diffusers = require("diffusers", "vision")
        out = Path(directory)
        common = {"unet": self.unet, "scheduler": self.scheduler}
        if self.kind == "pixel":
            pipe = diffusers.DDIMPipeline(**common)
        else:
            text = {"vae": self.vae, "text_encoder": self.text_encoder, "tokenizer": self.tokenizer}
            if self.kind == "video":
                pipe = diffusers.TextToVideoSDPipeline(**common, **text)
            else:
                sd = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
                if self.kind == "controlnet":
                    pipe = diffusers.StableDiffusionControlNetPipeline(**common, **text, controlnet=self.controlnet, **sd)
                else:
                    pipe = diffusers.StableDiffusionPipeline(**common, **text, **sd)
        pipe.save_pretrained(str(out))
        meta = {"kind": self.kind, "class_prompts": self.class_prompts, "num_frames": self._num_frames}
        (out / META_FILE).write_text(json.dumps(meta, indent=2))
        return out

    @classmethod
    def from_pretrained(cls, directory: str | Path, *, kind: BackboneKind | None = None) -> DiffusionBackbone:
        """Load a local diffusers pipeline folder (``model_index.json``); the kind is inferred when not given."""
        diffusers = require("diffusers", "vision")
        path = Path(directory)
        if not (path / "model_index.json").is_file():
            raise GendesignError(f"{path} has no model_index.json; give a local folder written by a diffusers pipeline's save_pretrained")
        check_pipeline_folder(path)
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            str(path), local_files_only=True, use_safetensors=True, trust_remote_code=False
        )
        meta_file = file_in(path, META_FILE, what="backbone metadata")
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        comps = pipe.components
        unet = comps["unet"]
        inferred: BackboneKind
        if comps.get("controlnet") is not None:
            inferred = "controlnet"
        elif type(unet).__name__ == "UNet3DConditionModel":
            inferred = "video"
        elif comps.get("vae") is not None:
            inferred = "latent"
        else:
            inferred = "pixel"
        chosen = kind or meta.get("kind", inferred)
        if chosen != inferred:
            raise ConfigError(f"{path} holds a {inferred!r} pipeline but kind={chosen!r} was requested")
        backbone = cls(
            chosen,
            unet=unet,
            scheduler=comps["scheduler"],
            vae=comps.get("vae"),
            text_encoder=comps.get("text_encoder"),
            tokenizer=comps.get("tokenizer"),
            controlnet=comps.get("controlnet"),
            class_prompts=meta.get("class_prompts"),
        )
        backbone.set_num_frames(meta.get("num_frames", 4))
        backbone.unet.train()
        return backbone

    @classmethod
    def build_tiny(cls, config: TinyBackboneConfig) -> DiffusionBackbone:
        """Random-weight backbone of a few hundred thousand parameters, deterministic in ``config.seed``."""
        diffusers = require("diffusers", "vision")
        torch.manual_seed(config.seed)
        ch = tuple(config.block_out_channels)
        groups = min(8, ch[0])
        scheduler = diffusers.DDIMScheduler(
            num_train_timesteps=config.num_train_timesteps,
            beta_schedule="scaled_linear" if config.kind != "pixel" else "linear",
            beta_start=0.00085 if config.kind != "pixel" else 0.0001,
            beta_end=0.012 if config.kind != "pixel" else 0.02,
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        )
        levels = len(ch)
        if config.kind == "pixel":
            unet = diffusers.UNet2DModel(
                sample_size=config.image_size,
                in_channels=3,
                out_channels=3,
                layers_per_block=config.layers_per_block,
                block_out_channels=ch,
                down_block_types=("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
                up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
                norm_num_groups=groups,
                attention_head_dim=ch[-1] // 2,
                num_class_embeds=len(config.prompts) or None,
            )
            return cls("pixel", unet, scheduler, class_prompts=config.prompts)
        transformers = require("transformers", "vision")
        vae_ch = (8, 16)
        vae = diffusers.AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * len(vae_ch),
            up_block_types=("UpDecoderBlock2D",) * len(vae_ch),
            block_out_channels=vae_ch,
            latent_channels=config.latent_channels,
            norm_num_groups=8,
            layers_per_block=1,
            sample_size=config.image_size,
        )
        tokenizer = tiny_clip_tokenizer(max_length=16)
        text_encoder = transformers.CLIPTextModel(
            transformers.CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=config.text_dim,
                intermediate_size=2 * config.text_dim,
                num_hidden_layers=1,
                num_attention_heads=2,
                max_position_embeddings=16,
                projection_dim=config.text_dim,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        )
        side = config.image_size // 2 ** (len(vae_ch) - 1)
        unet_common = {
            "sample_size": side,
            "in_channels": config.latent_channels,
            "out_channels": config.latent_channels,
            "layers_per_block": config.layers_per_block,
            "block_out_channels": ch,
            "cross_attention_dim": config.text_dim,
            "norm_num_groups": groups,
            "attention_head_dim": ch[-1] // 4,
        }
        if config.kind == "video":
            unet = diffusers.UNet3DConditionModel(
                down_block_types=("CrossAttnDownBlock3D",) * (levels - 1) + ("DownBlock3D",),
                up_block_types=("UpBlock3D",) + ("CrossAttnUpBlock3D",) * (levels - 1),
                **unet_common,
            )
            backbone = cls("video", unet, scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer)
            backbone.set_num_frames(config.num_frames)
            return backbone
        unet = diffusers.UNet2DConditionModel(
            down_block_types=("DownBlock2D",) * (levels - 1) + ("CrossAttnDownBlock2D",),
            up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
            **unet_common,
        )
        controlnet = None
        if config.kind == "controlnet":
            controlnet = diffusers.ControlNetModel.from_unet(
                unet, conditioning_embedding_out_channels=vae_ch, conditioning_channels=1
            )
        return cls(config.kind, unet, scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, controlnet=controlnet)


def _byte_alphabet() -> list[str]:
    """GPT-2 / CLIP byte-to-unicode alphabet: 256 printable characters standing for the 256 bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def tiny_clip_tokenizer(max_length: int = 16) -> Any:
    """A byte-level ``CLIPTokenizer`` with no merges (514 tokens): every byte is a token.

    Real CLIP tokenizers need a 49k-token vocabulary from the Hub; this one is built offline so tiny
    latent pipelines can be saved and reloaded with the real ``CLIPTokenizer`` code path.
    """
    transformers = require("transformers", "vision")
    alphabet = _byte_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": len(alphabet) + i for i, c in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
        return transformers.CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), model_max_length=max_length)


def check_pipeline_folder(path: str | Path) -> Path:
    """Refuse a diffusers folder that could make diffusers run code or read files outside it.

    Every entry must resolve inside the folder (:func:`~gendesign.core.files.check_tree`);
    ``model_index.json`` must name a pipeline class that diffusers itself defines (the list form
    ``["file", "Class"]`` loads ``file.py`` from the folder), and every component must be a
    diffusers class or a concrete (not ``Auto*``) transformers class. Weights are then loaded as
    safetensors only (``use_safetensors=True``), so no pickle in a ``.bin`` file is read.

    Returns:
        The resolved folder.
    """
    diffusers = require("diffusers", "vision")
    root = check_tree(path, what="diffusers folder")
    index_file = root / "model_index.json"
    try:
        index = json.loads(index_file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{index_file} is not valid JSON: {exc}") from None
    name = index.get("_class_name") if isinstance(index, dict) else None
    pipeline_cls = getattr(diffusers, name, None) if isinstance(name, str) else None
    if not (isinstance(pipeline_cls, type) and issubclass(pipeline_cls, diffusers.DiffusionPipeline)):
        raise ConfigError(
            f"{index_file}: _class_name={name!r} is not a diffusers pipeline class; custom pipeline code is never loaded. "
            "Save the pipeline with a built-in diffusers class"
        )
    for component, entry in index.items():
        if component.startswith("_") or not isinstance(entry, list):
            continue
        library, class_name = (entry + [None, None])[:2]
        if library not in (None, "diffusers", "transformers") and not _is_diffusers_pipeline_module(library):
            raise ConfigError(
                f"{index_file}: component {component!r} comes from library {library!r}; only diffusers and transformers "
                "classes are loaded (custom component code is never run)"
            )
        if library == "transformers" and str(class_name).startswith("Auto"):
            raise ConfigError(
                f"{index_file}: component {component!r} is a transformers {class_name}, which can import code named in its "
                "config.json (auto_map); name the concrete class instead (for example CLIPTextModel)"
            )
    return root


def _is_diffusers_pipeline_module(library: Any) -> bool:
    """Whether ``library`` names a module of ``diffusers.pipelines`` (how diffusers writes e.g. its safety checker)."""
    import importlib.util

    if not isinstance(library, str) or not library.isidentifier():
        return False
    return importlib.util.find_spec(f"diffusers.pipelines.{library}") is not None


def load_backbone(path: str | None = None, **tiny: Any) -> DiffusionBackbone:
    """A backbone from a local diffusers folder (``path``) or built tiny from :class:`TinyBackboneConfig` fields."""
    if path is not None:
        if tiny:
            raise ConfigError(f"give either path={path!r} or tiny-model options {sorted(tiny)}, not both")
        return DiffusionBackbone.from_pretrained(path)
    return DiffusionBackbone.build_tiny(TinyBackboneConfig(**tiny))
