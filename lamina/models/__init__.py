"""Building blocks and architectures: ResNet, XResNet, a simple CNN, bodies and heads, U-Net,
and `RecurrentLayer` for recurrent cells written in plain Python.

Importing this package registers every architecture under `"model"` in the core registry, so
`build_model(name, **kwargs)` can rebuild any of them from a name and JSON arguments.
"""

from lamina.models.attention import SelfAttention
from lamina.models.body import (
    VisionModel,
    body_split,
    create_body,
    create_head,
    create_vision_model,
)
from lamina.models.channels import adapt_input_channels
from lamina.models.layers import AdaptiveConcatPool2d, ConvNormAct, Flatten, SigmoidRange, init_cnn
from lamina.models.pretrained import load_weights
from lamina.models.probe import num_features
from lamina.models.recurrent import GRUCell, LSTMCell, RecurrentLayer
from lamina.models.registry import build_model, model_names
from lamina.models.resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from lamina.models.simple_cnn import simple_cnn
from lamina.models.split import default_split
from lamina.models.unet import DynamicUnet, create_unet_model, unet_split
from lamina.models.upsample import PixelShuffleUpsample, icnr_
from lamina.models.xresnet import XResNet, xresnet18, xresnet34, xresnet50

__all__ = [
    "AdaptiveConcatPool2d",
    "ConvNormAct",
    "DynamicUnet",
    "Flatten",
    "GRUCell",
    "LSTMCell",
    "PixelShuffleUpsample",
    "RecurrentLayer",
    "ResNet",
    "SelfAttention",
    "SigmoidRange",
    "VisionModel",
    "XResNet",
    "adapt_input_channels",
    "body_split",
    "build_model",
    "create_body",
    "create_head",
    "create_unet_model",
    "create_vision_model",
    "default_split",
    "icnr_",
    "init_cnn",
    "load_weights",
    "model_names",
    "num_features",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "simple_cnn",
    "unet_split",
    "xresnet18",
    "xresnet34",
    "xresnet50",
]
