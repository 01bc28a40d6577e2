"""Network transports: each turns its network's events into `Message`s and renders `Reply`s."""
