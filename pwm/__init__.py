"""PWM: policy learning through a learned world model (MLP or flow-matching dynamics)."""
