"""The diffusion backbones are what ``gendesign finetune`` needs: FineTunableDiffusion."""

from gendesign.testing.generators import FineTunableDiffusionConformance


class TestPixelBackbone(FineTunableDiffusionConformance):
    image_size = 8
    prompts = ("a", "b")

    def make_pipeline(self):
        from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig

        return DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="pixel", image_size=8, prompts=["a", "b"], block_out_channels=(8, 16)))


class TestLatentBackbone(FineTunableDiffusionConformance):
    image_size = 16
    prompts = ("a red square", "a blue circle")

    def make_pipeline(self):
        from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig

        return DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="latent", image_size=16, block_out_channels=(8, 16)))
