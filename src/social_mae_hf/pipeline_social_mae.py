"""The pipelines of a saved folder, for `pipeline(task, model=folder, trust_remote_code=True)` without
`import social_mae_hf`.

transformers finds a task that is not its own through the folder's `config.json` (`custom_pipelines`: task ->
"module.Class" of a code file in the folder). The model's `save_pretrained` writes that entry for both tasks when it
is saved with its code (`modeling_social_mae.hub_custom_pipelines`) and copies this file next to it; nothing in the
package imports this file, which imports the pipelines, which import the models. It holds no pipeline code: the
classes are the installed package's, imported when transformers asks for them, and without the package asking
for them says to install it. So this file imports nothing but the standard library, and the remote-code check of
transformers, which ignores imports inside `try`, does not require the package to load the model alone.
"""

_PIPELINES = ("AudioVisualClassificationPipeline", "AudioVisualFeatureExtractionPipeline")


def __getattr__(name: str):
    if name not in _PIPELINES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from social_mae_hf import pipelines
    except ImportError as error:
        if error.name != "social_mae_hf":  # installed, but something it imports is missing: that error says what
            raise
        raise ImportError(
            f"{name} comes from the social-mae-hf package, which is not installed: `pip install social-mae-hf`. "
            "The model itself loads without it (trust_remote_code=True with AutoModel, "
            "AutoModelForVideoClassification, AutoProcessor)."
        ) from error
    return getattr(pipelines, name)
