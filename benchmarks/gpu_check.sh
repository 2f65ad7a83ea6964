#!/usr/bin/env bash
# The GPU check, in one go, on a machine with CUDA (CI never has one): update-step speed per size,
# dtype and Adam kernel on the GPU, then a short CUDA training run interrupted by SIGUSR1 and resumed (the
# resume state is loaded on the CPU and moved: RNG states stay byte tensors), compared with the
# same run uninterrupted, then pwm-eval on the GPU. Prints every figure; exits non-zero on failure.
#   benchmarks/gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/gpu_check}
bin=$(dirname "$(command -v python3)")
[ -x .venv/bin/python ] && bin=.venv/bin
mkdir -p "$out"
"$bin/python" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('device:', torch.cuda.get_device_name())"

echo "== update step on cuda (batch 256, horizon 16) =="
"$bin/python" benchmarks/update_step.py --device cuda --sizes 1M 5M 48M --dtypes fp32 bf16 --adam foreach fused --repeats 5

echo "== CUDA run: uninterrupted vs SIGUSR1 at epoch 6 and resumed =="
args=(task=cartpole-swingup size=5M device=cuda seed=1 epochs=12 checkpoint_every=4 env.num_envs=4
      agent.random_steps=256 agent.warmup_updates=4 agent.batch_size=64 agent.actor_batch_size=64 log_every=1)
rm -rf "$out/whole" "$out/parts"
"$bin/pwm-train" run_dir="$out/whole" "${args[@]}" 2> "$out/whole.log"
"$bin/pwm-train" run_dir="$out/parts" "${args[@]}" 2> "$out/parts-1.log" &
pid=$!
until grep -q "epoch 6/" "$out/parts-1.log" 2>/dev/null; do sleep 0.2; done
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 75 ] || { echo "expected exit 75 after SIGUSR1, got $rc"; exit 1; }
"$bin/pwm-train" run_dir="$out/parts" "${args[@]}" 2> "$out/parts-2.log"
grep "resumed from epoch" "$out/parts-2.log"
"$bin/python" - "$out" <<'EOF'
import sys, torch
out = sys.argv[1]
a, b = (torch.load(f"{out}/{d}/final/checkpoint.pt", map_location="cpu", weights_only=False) for d in ("whole", "parts"))
diff = max((a["actor"][k] - b["actor"][k]).abs().max().item() for k in a["actor"])
print(f"resumed vs uninterrupted on CUDA: max |actor weight difference| = {diff:.3g} (0 = bit-identical)")
EOF

echo "== CUDA run with agent.precision=bf16 (autocast) and agent.adam=fused =="
rm -rf "$out/bf16"
"$bin/pwm-train" run_dir="$out/bf16" "${args[@]}" agent.precision=bf16 agent.adam=fused 2> "$out/bf16.log"
tail -n 1 "$out/bf16.log"

echo "== pwm-eval on cuda =="
"$bin/pwm-eval" checkpoint="$out/parts/final/checkpoint.pt" episodes=4 out="$out/eval.parquet" device=cuda
