"""The reference checkpoints of Mohan et al. (ICLR 2020), as data.

Each entry names an original PyTorch file of
github.com/LabForComputationalVision/bias_free_denoising (MIT licence), its
sha256, and what is known about it. `file` is the path under the checkpoint
cache (`KERAS_MIYASAWA_CHECKPOINT_DIR`), `url` where it is downloaded from on a
cache miss. `set12_psnr` is measured on the imported Keras model by
`benchmarks/reference_psnr.py` (mean dB over Set12, noise std sigma/255,
`--seed 0`, output clipped to [0, 1]).
"""

_UPSTREAM = (
    "https://github.com/LabForComputationalVision/bias_free_denoising/raw/master/"
    "pretrained/"
)

DESCRIPTION = (
    "{bias} {arch} of Mohan, Kadkhodaie, Simoncelli and Fernandez-Granda, "
    '"Robust and interpretable blind image denoising via bias-free convolutional '
    "neural networks\" (ICLR 2020), imported from the authors' PyTorch checkpoint "
    "trained on Gaussian noise of std uniform in [{low}, {high}]/255."
)
TRAINING_DATA = "BSD400 (Train400) grayscale patches"
LICENSE = "MIT (LabForComputationalVision/bias_free_denoising)"
CITATION = (
    "Mohan, S., Kadkhodaie, Z., Simoncelli, E. P., Fernandez-Granda, C. "
    "Robust and interpretable blind image denoising via bias-free convolutional "
    "neural networks. ICLR 2020."
)

MOHAN2020_PRESETS = {
    "mohan2020_dncnn_bias_free_0-10": {
        "architecture": "dncnn",
        "bias_free": True,
        "training_noise_range_255": (0, 10),
        "epochs": 70,
        "parameter_count": 667008,
        "file": "dncnn/bias_free/0-10.pt",
        "url": _UPSTREAM + "dncnn/bias_free/0-10.pt",
        "sha256": "620fda70ca2c199cca91454e1b7b169032d4aedd947367ec1de0f2fe0513e017",
        "set12_psnr": {15: 32.72, 25: 30.20, 50: 26.67},
    },
    "mohan2020_dncnn_bias_free_0-30": {
        "architecture": "dncnn",
        "bias_free": True,
        "training_noise_range_255": (0, 30),
        "epochs": 70,
        "parameter_count": 667008,
        "file": "dncnn/bias_free/0-30.pt",
        "url": _UPSTREAM + "dncnn/bias_free/0-30.pt",
        "sha256": "bd4f8f15051fa2ceb7fb0aea337ba894b7713886423ad86dd8289bd5997372c0",
        "set12_psnr": {15: 32.67, 25: 30.33, 50: 27.05},
    },
    "mohan2020_dncnn_bias_free_0-55": {
        "architecture": "dncnn",
        "bias_free": True,
        "training_noise_range_255": (0, 55),
        "epochs": 70,
        "parameter_count": 667008,
        "file": "dncnn/bias_free/0-55.pt",
        "url": _UPSTREAM + "dncnn/bias_free/0-55.pt",
        "sha256": "f1338cbbeea8c34c56cda1076f1516ac0ba5831118786f6226c748af6cd31efa",
        "set12_psnr": {15: 32.67, 25: 30.34, 50: 27.18},
    },
    "mohan2020_dncnn_bias_free_0-100": {
        "architecture": "dncnn",
        "bias_free": True,
        "training_noise_range_255": (0, 100),
        "epochs": 70,
        "parameter_count": 667008,
        "file": "dncnn/bias_free/0-100.pt",
        "url": _UPSTREAM + "dncnn/bias_free/0-100.pt",
        "sha256": "a21e6541a39f3975f421142f5d3845bc858e89881118be647ad9208cb61126e5",
        "set12_psnr": {15: 32.59, 25: 30.28, 50: 27.19},
    },
    "mohan2020_dncnn_bias_0-10": {
        "architecture": "dncnn",
        "bias_free": False,
        "training_noise_range_255": (0, 10),
        "epochs": 70,
        "parameter_count": 670529,
        "file": "dncnn/bias/0-10.pt",
        "url": _UPSTREAM + "dncnn/bias/0-10.pt",
        "sha256": "1d794e5e5117196cccea268fd31d484e25d102bcde0bae74f5a34f577a7805f3",
        "set12_psnr": {15: 27.78, 25: 21.53, 50: 15.15},
    },
    "mohan2020_dncnn_bias_0-30": {
        "architecture": "dncnn",
        "bias_free": False,
        "training_noise_range_255": (0, 30),
        "epochs": 70,
        "parameter_count": 670529,
        "file": "dncnn/bias/0-30.pt",
        "url": _UPSTREAM + "dncnn/bias/0-30.pt",
        "sha256": "74c785c56b28977beaa91f8ee5a746739f375f156a082ba46fb591e02753cb63",
        "set12_psnr": {15: 32.75, 25: 30.40, 50: 18.76},
    },
    "mohan2020_dncnn_bias_0-55": {
        "architecture": "dncnn",
        "bias_free": False,
        "training_noise_range_255": (0, 55),
        "epochs": 70,
        "parameter_count": 670529,
        "file": "dncnn/bias/0-55.pt",
        "url": _UPSTREAM + "dncnn/bias/0-55.pt",
        "sha256": "6af6c965e9cdbdb34f04bb399ec454411db33ba8ea445abcb5e16e1008805969",
        "set12_psnr": {15: 32.68, 25: 30.34, 50: 27.17},
    },
    "mohan2020_dncnn_bias_0-100": {
        "architecture": "dncnn",
        "bias_free": False,
        "training_noise_range_255": (0, 100),
        "epochs": 70,
        "parameter_count": 670529,
        "file": "dncnn/bias/0-100.pt",
        "url": _UPSTREAM + "dncnn/bias/0-100.pt",
        "sha256": "5d49e828a52a61b746ad2c1d77deac3bdf867afd4d73a15297fa9dca8d5b16e5",
        "set12_psnr": {15: 32.49, 25: 30.16, 50: 27.04},
    },
    "mohan2020_unet_bias_free_0-10": {
        "architecture": "unet",
        "bias_free": True,
        "training_noise_range_255": (0, 10),
        "epochs": 100,
        "parameter_count": 233024,
        "file": "unet/bias_free/0-10.pt",
        "url": _UPSTREAM + "unet/bias_free/0-10.pt",
        "sha256": "53fcc611cd509a8594a442ffe0c92bb6e513bede4cee36478b5ae8e74ffcf96d",
        "set12_psnr": {15: 32.37, 25: 29.70, 50: 25.97},
    },
    "mohan2020_unet_bias_free_0-30": {
        "architecture": "unet",
        "bias_free": True,
        "training_noise_range_255": (0, 30),
        "epochs": 100,
        "parameter_count": 233024,
        "file": "unet/bias_free/0-30.pt",
        "url": _UPSTREAM + "unet/bias_free/0-30.pt",
        "sha256": "2810c42b706e58747118d5d9fb36d092a9accedee151515bec6dc1a6812afca1",
        "set12_psnr": {15: 32.63, 25: 30.21, 50: 26.86},
    },
    "mohan2020_unet_bias_free_0-55": {
        "architecture": "unet",
        "bias_free": True,
        "training_noise_range_255": (0, 55),
        "epochs": 100,
        "parameter_count": 233024,
        "file": "unet/bias_free/0-55.pt",
        "url": _UPSTREAM + "unet/bias_free/0-55.pt",
        "sha256": "a73a66ed6b63ae4787be986ad3964a17daf35aaa92eee89e9dbb7a70cfaab67a",
        "set12_psnr": {15: 32.54, 25: 30.22, 50: 27.04},
    },
    "mohan2020_unet_bias_free_0-100": {
        "architecture": "unet",
        "bias_free": True,
        "training_noise_range_255": (0, 100),
        "epochs": 100,
        "parameter_count": 233024,
        "file": "unet/bias_free/0-100.pt",
        "url": _UPSTREAM + "unet/bias_free/0-100.pt",
        "sha256": "328eef4122d31f377a3baf3f043698ffae64ea7b39328f96f33c5a57030452c1",
        "set12_psnr": {15: 32.39, 25: 30.10, 50: 27.05},
    },
    "mohan2020_unet_bias_0-10": {
        "architecture": "unet",
        "bias_free": False,
        "training_noise_range_255": (0, 10),
        "epochs": 100,
        "parameter_count": 233441,
        "file": "unet/bias/0-10.pt",
        "url": _UPSTREAM + "unet/bias/0-10.pt",
        "sha256": "f331306de4f08c25b85879d66cc380671f508cea6199881a83e797fc0a188445",
        "set12_psnr": {15: 27.73, 25: 21.06, 50: 15.12},
    },
    "mohan2020_unet_bias_0-30": {
        "architecture": "unet",
        "bias_free": False,
        "training_noise_range_255": (0, 30),
        "epochs": 100,
        "parameter_count": 233441,
        "file": "unet/bias/0-30.pt",
        "url": _UPSTREAM + "unet/bias/0-30.pt",
        "sha256": "54b804c2855ff2a4afdc4ddb4dd2cd4fe69f12d2293bc7b61c0042465751a149",
        "set12_psnr": {15: 32.58, 25: 30.18, 50: 18.47},
    },
    "mohan2020_unet_bias_0-55": {
        "architecture": "unet",
        "bias_free": False,
        "training_noise_range_255": (0, 55),
        "epochs": 70,
        "parameter_count": 233441,
        "file": "unet/bias/0-55.pt",
        "url": _UPSTREAM + "unet/bias/0-55.pt",
        "sha256": "ba1bb76b1abeb8decc56e6e682b58a4e6badaf998b450360e1e2680470e802dc",
        "set12_psnr": {15: 32.47, 25: 30.16, 50: 27.05},
    },
    "mohan2020_unet_bias_0-100": {
        "architecture": "unet",
        "bias_free": False,
        "training_noise_range_255": (0, 100),
        "epochs": 70,
        "parameter_count": 233441,
        "file": "unet/bias/0-100.pt",
        "url": _UPSTREAM + "unet/bias/0-100.pt",
        "sha256": "176184303137a6d96c55b8434e7e01b60c28d2d9b55aa59618cad883739bb65a",
        "set12_psnr": {15: 32.27, 25: 30.00, 50: 27.00},
    },
}
