"""Image task: MNIST/CIFAR-10 loaders and training on the shared core."""
