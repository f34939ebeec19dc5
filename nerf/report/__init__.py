"""Judging and showing a run: per-view scores (PSNR, SSIM, LPIPS), training curves, camera layouts."""
