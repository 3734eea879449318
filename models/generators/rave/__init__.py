"""neuralrig's own RAVE-style streaming VAE: causal cached convolutions, trained on
synthesised audio, exported in nn~'s TorchScript contract.

* ``model``: the architecture (``RaveVAE``), its timing and streaming rules;
* ``export``: TorchScript in nn~'s contract (``export_torchscript``), safetensors weights;
* ``corpus``: the synthesised training audio; ``train``: the training loop;
* ``make_shipped``: remake ``models/data/rave-synth.*`` (`make rave-model`);
* ``rtf``: measure a TorchScript model's realtime factor.
"""
