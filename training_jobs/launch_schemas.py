"""What the kinds' launch and pre-flight schemas (training_jobs.kinds.*_schemas) share: a pre-flight's verdict and
issues, and the character form's values (also GET /training/defaults). Imports no kind, so every kind's schemas can build on it."""

from ninja import Field, Schema


class LaunchFieldsOut(Schema):
    """The form's values without the persona (GET /training/defaults)."""

    preset: str = Field("custom", description="custom | quick | paper (the form fills a preset's values; see /training/presets/{name})")
    teacher_model: str = Field(..., description="litellm model answering with the constitution (chosen); offline/teacher needs no credentials")
    student_model: str = Field(..., description="litellm model serving the student, answering without it (rejected); offline/student offline")
    student_checkpoint: str = Field("tiny", description="What the backend trains: 'tiny' (built in), a local folder, or a hub id")
    dpo_pairs: int = Field(..., description="1–100,000")
    reflections: int = Field(..., description="Total reflections (10 introspective prompts × N), 1–1,000,000")
    interactions: int = Field(..., description="Self-interactions, 1–100,000")
    interaction_turns: int = Field(..., description="Turns per self-interaction, 2–50")
    data_scale: int = Field(100, description="Percent of the sizes to generate: 25, 50, 75 or 100")
    lora_rank: int
    lora_alpha: int
    lora_layers: int = Field(0, description="LoRA on the top N transformer layers only (the backward pass stops there); 0: every layer")
    learning_rate: float
    batch_size: int
    epochs: int
    dpo_beta: float
    nll_coef: float = Field(..., description="Weight of the NLL term next to the DPO loss")
    max_length: int = Field(..., description="Max tokens of a DPO example")
    sft_max_length: int = Field(..., description="Max tokens of an SFT example")
    temperature: float
    top_p: float
    max_new_tokens: int = 512
    smoke_test: str = Field("small", description="none | small | large | both: smoke tests before full scale")
    budget_usd: float | None = Field(None, description="Cap in USD (> 0); null for none")
    max_burn_usd_per_hour: float | None = None
    max_drop_rate: float = Field(0.3, description="Data-quality gate: a data stage is killed past this share of dropped samples")
    concurrency: int = Field(64, description="LLM calls in flight while generating data, 1–512")
    backend: str = "trl"
    name_suffix: str = ""
    generate_introspection: bool = True
    run_sft: bool = Field(True, description="SFT on the introspection data after DPO")
    strip_reflection_traces: bool = Field(False, description="Strip <think> traces from reflections (default: keep them)")
    keep_interaction_traces: bool = Field(False, description="Keep <think> traces in self-interactions (default: strip them)")
    review_eval_pairs: bool = Field(False, description="Send the evaluation's base-vs-tuned pairs to the persona's blind review "
                                                       "queue (prompt set training-<job>); default: judged only, nobody is asked")
    seed: int = 0
    eval_every_steps: int = Field(0, description="Evaluate the checkpoint every N training steps (marker rate and win rate vs "
                                  "base on held-out prompts, 95% Wilson intervals); 0: off. 0–100,000")
    eval_holdout_prompts: int = Field(8, description="Held-out prompts per checkpoint evaluation, 1–64")
    early_stop_patience: int = Field(3, description="Stop training after this many checkpoint evaluations without improvement "
                                     "(the best checkpoint is kept; a normal end); 0: never. 0–100")
    early_stop_min_delta: float = Field(0.05, description="The least rise in the metric that counts as an improvement, 0–1")
    early_stop_metric: str = Field("win_rate", description="win_rate | marker_rate")
    eval_trait_profile_prompts: int = Field(0, description="Trait profiles of base and tuned by revealed preference in the "
                                            "evaluation stage, on this many prompts each (same prompts and seed); 0: off, else 20–500")


class IssueOut(Schema):
    field: str
    message: str


class PreflightBase(Schema):
    """What every kind's pre-flight answers; each kind adds its `kind`, estimate and plan."""

    ok: bool
    errors: list[IssueOut] = Field(..., description="The job cannot run: a launch answers 422 naming the first one's field")
    warnings: list[IssueOut] = Field(..., description="It may run badly: a launch goes ahead")
