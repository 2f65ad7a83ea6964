"""Multi-task PWM: one world model trained offline on data from many tasks (TD-MPC2's padded
observations and actions, task embeddings), then one policy per task learned through it."""
