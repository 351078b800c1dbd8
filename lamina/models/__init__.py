"""Building blocks and architectures: ResNet, XResNet, EfficientNet-Lite0, a simple CNN, bodies
and heads, U-Net, for text AWD-LSTM and a small Transformer, and `RecurrentLayer` for
recurrent cells written in plain Python.

Importing this package registers every architecture under `"model"` in the core registry, so
`build_model(name, **kwargs)` can rebuild any of them from a name and JSON arguments.
"""

from lamina.models.attention import SelfAttention
from lamina.models.awd_lstm import (
    AWDLSTM,
    AWDLSTMClassifier,
    AWDLSTMLanguageModel,
    awd_lstm_clas,
    awd_lstm_clas_split,
    awd_lstm_lm,
    awd_lstm_lm_split,
)
from lamina.models.body import (
    VisionModel,
    body_split,
    create_body,
    create_head,
    create_vision_model,
)
from lamina.models.channels import adapt_input_channels
from lamina.models.efficientnet import EfficientNetLite, efficientnet_lite0
from lamina.models.layers import (
    AdaptiveConcatPool2d,
    ConvNormAct,
    Flatten,
    SigmoidRange,
    emb_sz_rule,
    init_cnn,
    sigmoid_range,
)
from lamina.models.pretrained import load_weights
from lamina.models.probe import num_features
from lamina.models.recurrent import GRUCell, LSTMCell, RecurrentLayer
from lamina.models.registry import build_model, model_names
from lamina.models.resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from lamina.models.rnn_dropout import DropoutEmbedding, LockedDropout, WeightDropLSTM
from lamina.models.simple_cnn import simple_cnn
from lamina.models.small_map_conv import SmallMapConv2d
from lamina.models.split import default_split
from lamina.models.text_head import PoolingClassifierHead, masked_concat_pool, move_padding_right
from lamina.models.text_transformer import (
    TextTransformer,
    TransformerClassifier,
    TransformerLanguageModel,
    transformer_clas,
    transformer_clas_split,
    transformer_lm,
    transformer_lm_split,
)
from lamina.models.unet import DynamicUnet, create_unet_model, unet_split
from lamina.models.upsample import PixelShuffleUpsample, icnr_
from lamina.models.xresnet import XResNet, xresnet18, xresnet34, xresnet50

__all__ = [
    "AWDLSTM",
    "AWDLSTMClassifier",
    "AWDLSTMLanguageModel",
    "AdaptiveConcatPool2d",
    "ConvNormAct",
    "DropoutEmbedding",
    "DynamicUnet",
    "EfficientNetLite",
    "Flatten",
    "GRUCell",
    "LSTMCell",
    "LockedDropout",
    "PixelShuffleUpsample",
    "PoolingClassifierHead",
    "RecurrentLayer",
    "ResNet",
    "SelfAttention",
    "SigmoidRange",
    "SmallMapConv2d",
    "TextTransformer",
    "TransformerClassifier",
    "TransformerLanguageModel",
    "VisionModel",
    "WeightDropLSTM",
    "XResNet",
    "adapt_input_channels",
    "awd_lstm_clas",
    "awd_lstm_clas_split",
    "awd_lstm_lm",
    "awd_lstm_lm_split",
    "body_split",
    "build_model",
    "create_body",
    "create_head",
    "create_unet_model",
    "create_vision_model",
    "default_split",
    "efficientnet_lite0",
    "emb_sz_rule",
    "icnr_",
    "init_cnn",
    "load_weights",
    "masked_concat_pool",
    "model_names",
    "move_padding_right",
    "num_features",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "sigmoid_range",
    "simple_cnn",
    "transformer_clas",
    "transformer_clas_split",
    "transformer_lm",
    "transformer_lm_split",
    "unet_split",
    "xresnet18",
    "xresnet34",
    "xresnet50",
]
