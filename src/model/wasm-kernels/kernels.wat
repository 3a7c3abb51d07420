;; kdsearch's SIMD kernels for the tfjs wasm backend.
;;
;; They run on the backend's own linear memory (imported), so they read and
;; write tensors in place: every address below is a byte offset of a tensor
;; in that memory, every tensor float32 and NHWC unless a comment says
;; otherwise. Shapes and preconditions are checked by the TypeScript callers
;; (src/model/wasm-kernels/simd.ts); these functions trust them.
;;
;; Build: npm run build:wat (writes simd-binary.ts); test/wasm-simd.test.ts
;; fails when simd-binary.ts is not the build of this file.
(module
  (import "env" "memory" (memory 1))

  ;; dst[0..n) = src[0..n), n floats, 4 at a time then one at a time.
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $scalars))))

  ;; dst[0..n) = 0, n floats.
  (func $zero (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.gt_u (i32.add (local.get $dst) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $scalars))))

  ;; Gradient of a 2x2, stride-2, unpadded max pool: each window's output
  ;; gradient goes to its first maximum in row order (the cpu backend's tie
  ;; rule), 4 channels at a time with compare masks instead of branches.
  ;; x [B, H, W, C], g [B, OH, OW, C], dx [B, H, W, C]; C a multiple of 4;
  ;; OH <= H/2, OW <= W/2 (pixels no window covers get 0).
  (func (export "max_pool_grad_2x2")
    (param $x i32) (param $g i32) (param $dx i32) (param $B i32) (param $H i32) (param $W i32)
    (param $C i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $cBytes i32) (local $rowBytes i32)
    (local $corner i32) (local $at i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t1 v128) (local $t3 v128) (local $tb v128) (local $gv v128) (local $top v128) (local $bottom v128)
    (call $zero (local.get $dx) (i32.mul (i32.mul (local.get $B) (local.get $H)) (i32.mul (local.get $W) (local.get $C))))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          ;; byte offset of pixel (b, 2*oy, 2*ox, 0) in x and dx
          (local.set $corner
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $W))
                       (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cBytes)))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $at (i32.add (local.get $x) (i32.add (local.get $corner) (local.get $k))))
            (local.set $v0 (v128.load (local.get $at)))
            (local.set $v1 (v128.load (i32.add (local.get $at) (local.get $cBytes))))
            (local.set $v2 (v128.load (i32.add (local.get $at) (local.get $rowBytes))))
            (local.set $v3 (v128.load (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes)))))
            (local.set $t1 (f32x4.gt (local.get $v1) (local.get $v0)))
            (local.set $t3 (f32x4.gt (local.get $v3) (local.get $v2)))
            (local.set $tb (f32x4.gt (v128.bitselect (local.get $v3) (local.get $v2) (local.get $t3))
                                     (v128.bitselect (local.get $v1) (local.get $v0) (local.get $t1))))
            (local.set $gv (v128.load (local.get $g)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $top (v128.andnot (local.get $gv) (local.get $tb)))
            (local.set $bottom (v128.and (local.get $gv) (local.get $tb)))
            (local.set $at (i32.add (local.get $dx) (i32.add (local.get $corner) (local.get $k))))
            (v128.store (local.get $at) (v128.andnot (local.get $top) (local.get $t1)))
            (v128.store (i32.add (local.get $at) (local.get $cBytes)) (v128.and (local.get $top) (local.get $t1)))
            (v128.store (i32.add (local.get $at) (local.get $rowBytes)) (v128.andnot (local.get $bottom) (local.get $t3)))
            (v128.store (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes)))
                        (v128.and (local.get $bottom) (local.get $t3)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; max_pool_2x2(relu(z + bias)): a convolution's bias, ReLU and 2x2 pool in
  ;; one pass over its output z (the convolution itself runs without them).
  ;; ReLU is pmax(0, v), as Winograd's epilogue. z [B, H, W, C], bias [C],
  ;; out [B, OH, OW, C]; C a multiple of 4, OH <= H/2, OW <= W/2.
  (func (export "bias_relu_max_pool_2x2")
    (param $z i32) (param $bias i32) (param $out i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $cBytes i32) (local $rowBytes i32) (local $at i32)
    (local $bv v128)
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $at (i32.add (local.get $z)
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $W))
                       (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cBytes))))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $bv (v128.load (i32.add (local.get $bias) (local.get $k))))
            (v128.store (local.get $out)
              (f32x4.max
                (f32x4.max
                  (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (local.get $at) (local.get $k))) (local.get $bv)))
                  (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (i32.add (local.get $at) (local.get $cBytes)) (local.get $k))) (local.get $bv))))
                (f32x4.max
                  (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $k))) (local.get $bv)))
                  (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes))) (local.get $k))) (local.get $bv))))))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; The gradient of bias_relu_max_pool_2x2 at z and bias: with r = pmax(0,
  ;; z + bias), each window's dy goes to its first maximum of r in row order
  ;; (max_pool_grad_2x2's tie rule), where r > 0 (ReLU's gradient), and
  ;; db[c] sums the result. One pass that writes dz once, where
  ;; max_pool_grad_2x2 then relu_grad_bias zero-filled and wrote a pooled
  ;; input gradient, read it back with the activation, and wrote dz.
  ;; dy [B, OH, OW, C], z and dz [B, H, W, C]; C a multiple of 4; pixels no
  ;; window covers (H or W odd) are left to the caller.
  (func (export "bias_relu_max_pool_grad_2x2")
    (param $dy i32) (param $z i32) (param $bias i32) (param $dz i32) (param $db i32) (param $B i32) (param $H i32) (param $W i32)
    (param $C i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $cBytes i32) (local $rowBytes i32)
    (local $corner i32) (local $at i32) (local $out i32)
    (local $bv v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t1 v128) (local $t3 v128) (local $tb v128) (local $gv v128) (local $top v128) (local $bottom v128)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (call $zero (local.get $db) (local.get $C))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $corner
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $W))
                       (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cBytes)))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $bv (v128.load (i32.add (local.get $bias) (local.get $k))))
            (local.set $at (i32.add (local.get $z) (i32.add (local.get $corner) (local.get $k))))
            (local.set $v0 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (local.get $at)) (local.get $bv))))
            (local.set $v1 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (local.get $at) (local.get $cBytes))) (local.get $bv))))
            (local.set $v2 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (v128.load (i32.add (local.get $at) (local.get $rowBytes))) (local.get $bv))))
            (local.set $v3 (f32x4.pmax (v128.const f32x4 0 0 0 0)
              (f32x4.add (v128.load (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes)))) (local.get $bv))))
            (local.set $t1 (f32x4.gt (local.get $v1) (local.get $v0)))
            (local.set $t3 (f32x4.gt (local.get $v3) (local.get $v2)))
            (local.set $tb (f32x4.gt (v128.bitselect (local.get $v3) (local.get $v2) (local.get $t3))
                                     (v128.bitselect (local.get $v1) (local.get $v0) (local.get $t1))))
            (local.set $gv (v128.load (local.get $dy)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $top (v128.andnot (local.get $gv) (local.get $tb)))
            (local.set $bottom (v128.and (local.get $gv) (local.get $tb)))
            ;; routed gradient where r > 0, +0 elsewhere: ReLU's dy * step(r) but for
            ;; the sign of a zero (r is never NaN after pmax)
            (local.set $g0 (v128.and (v128.andnot (local.get $top) (local.get $t1)) (f32x4.gt (local.get $v0) (v128.const f32x4 0 0 0 0))))
            (local.set $g1 (v128.and (v128.and (local.get $top) (local.get $t1)) (f32x4.gt (local.get $v1) (v128.const f32x4 0 0 0 0))))
            (local.set $g2 (v128.and (v128.andnot (local.get $bottom) (local.get $t3)) (f32x4.gt (local.get $v2) (v128.const f32x4 0 0 0 0))))
            (local.set $g3 (v128.and (v128.and (local.get $bottom) (local.get $t3)) (f32x4.gt (local.get $v3) (v128.const f32x4 0 0 0 0))))
            (local.set $out (i32.add (local.get $dz) (i32.add (local.get $corner) (local.get $k))))
            (v128.store (local.get $out) (local.get $g0))
            (v128.store (i32.add (local.get $out) (local.get $cBytes)) (local.get $g1))
            (v128.store (i32.add (local.get $out) (local.get $rowBytes)) (local.get $g2))
            (v128.store (i32.add (local.get $out) (i32.add (local.get $rowBytes) (local.get $cBytes))) (local.get $g3))
            (v128.store (i32.add (local.get $db) (local.get $k))
              (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.load (i32.add (local.get $db) (local.get $k))) (local.get $g0)) (local.get $g1)) (local.get $g2)) (local.get $g3)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; The 4 convolution values of one 2x2 pool window for two groups of 4
  ;; output channels (a and b), 8 independent sums in registers:
  ;; a[dy][dx] = sum over ky, kx, ci of xp[y0+dy+ky, x0+dx+kx, ci] * w[ky, kx, ci, g..g+3],
  ;; summed in that order (ky, then kx and ci, which are contiguous in both
  ;; xp's rows and w). $x is xp's address at (y0, x0, 0), $wp w's at
  ;; (0, 0, 0, g); group b starts $second bytes after group a (0 for a lone
  ;; last group: b then repeats a). $taps = K * Cin; $pixBytes = Cin * 4;
  ;; $cBytes = C * 4. conv_relu_pool_2x2 and its gradient both call it, so
  ;; the gradient sees the forward's bits.
  (func $pool_window_sums
    (param $x i32) (param $wp i32) (param $second i32) (param $K i32) (param $taps i32) (param $rowBytes i32) (param $pixBytes i32) (param $cBytes i32)
    (result v128 v128 v128 v128 v128 v128 v128 v128)
    (local $ky i32) (local $j i32) (local $at i32) (local $wa v128) (local $wb v128) (local $xv v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $ky (i32.const 0))
    (loop $rows
      (local.set $at (local.get $x))
      (local.set $j (i32.const 0))
      (loop $taps
        (local.set $wa (v128.load (local.get $wp)))
        (local.set $wb (v128.load (i32.add (local.get $wp) (local.get $second))))
        (local.set $xv (v128.load32_splat (local.get $at)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $xv) (local.get $wa))))
        (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $xv) (local.get $wb))))
        (local.set $xv (v128.load32_splat (i32.add (local.get $at) (local.get $pixBytes))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $xv) (local.get $wa))))
        (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $xv) (local.get $wb))))
        (local.set $xv (v128.load32_splat (i32.add (local.get $at) (local.get $rowBytes))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $xv) (local.get $wa))))
        (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $xv) (local.get $wb))))
        (local.set $xv (v128.load32_splat (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $pixBytes)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $xv) (local.get $wa))))
        (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $xv) (local.get $wb))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (local.set $wp (i32.add (local.get $wp) (local.get $cBytes)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $taps (i32.lt_u (local.get $j) (local.get $taps))))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $ky) (local.get $K))))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (local.get $b0) (local.get $b1) (local.get $b2) (local.get $b3))

  ;; One window's routed gradient for 4 channels, from its 4 convolution
  ;; values v (bias not added yet) and its dy: with r = pmax(0, v + bias),
  ;; dy goes to the first maximum of r in row order (max_pool_grad_2x2's tie
  ;; rule) where r > 0 (ReLU's gradient); +0 at the other three positions
  ;; (dy * step(r) but for the sign of a zero; r is never NaN after pmax).
  ;; conv_relu_pool_2x2_grad routes with it; bias_relu_max_pool_grad_2x2 has
  ;; the same lines inline, because there the call (Node 20's V8 inlines no
  ;; wasm calls) made the whole kernel 1.3-1.5x slower (0.26 -> 0.34-0.41 ms
  ;; at [64, 28, 28, 16], scratch measurement).
  (func $route_pool_window
    (param $v0 v128) (param $v1 v128) (param $v2 v128) (param $v3 v128) (param $bv v128) (param $gv v128)
    (result v128 v128 v128 v128)
    (local $t1 v128) (local $t3 v128) (local $tb v128) (local $top v128) (local $bottom v128)
    (local.set $v0 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (local.get $v0) (local.get $bv))))
    (local.set $v1 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (local.get $v1) (local.get $bv))))
    (local.set $v2 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (local.get $v2) (local.get $bv))))
    (local.set $v3 (f32x4.pmax (v128.const f32x4 0 0 0 0) (f32x4.add (local.get $v3) (local.get $bv))))
    (local.set $t1 (f32x4.gt (local.get $v1) (local.get $v0)))
    (local.set $t3 (f32x4.gt (local.get $v3) (local.get $v2)))
    (local.set $tb (f32x4.gt (v128.bitselect (local.get $v3) (local.get $v2) (local.get $t3))
                             (v128.bitselect (local.get $v1) (local.get $v0) (local.get $t1))))
    (local.set $top (v128.andnot (local.get $gv) (local.get $tb)))
    (local.set $bottom (v128.and (local.get $gv) (local.get $tb)))
    (v128.and (v128.andnot (local.get $top) (local.get $t1)) (f32x4.gt (local.get $v0) (v128.const f32x4 0 0 0 0)))
    (v128.and (v128.and (local.get $top) (local.get $t1)) (f32x4.gt (local.get $v1) (v128.const f32x4 0 0 0 0)))
    (v128.and (v128.andnot (local.get $bottom) (local.get $t3)) (f32x4.gt (local.get $v2) (v128.const f32x4 0 0 0 0)))
    (v128.and (v128.and (local.get $bottom) (local.get $t3)) (f32x4.gt (local.get $v3) (v128.const f32x4 0 0 0 0))))

  ;; max_pool_2x2(relu(conv(xp, w) + bias)) for a stride-1 convolution with
  ;; few input channels (a first layer): each window's 4 convolution values
  ;; stay in registers, so the full-size activation is never written or read.
  ;; xp [B, Hp, Wp, Cin] already padded, w [K, K, Cin, C], bias [C],
  ;; out [B, OH, OW, C]; C a multiple of 4; 2 * OH <= Hp - K + 1, same for OW.
  (func (export "conv_relu_pool_2x2")
    (param $xp i32) (param $w i32) (param $bias i32) (param $out i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $Cin i32) (param $C i32) (param $K i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $second i32) (local $cBytes i32) (local $pixBytes i32) (local $rowBytes i32)
    (local $taps i32) (local $corner i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $pixBytes (i32.shl (local.get $Cin) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $Wp) (local.get $pixBytes)))
    (local.set $taps (i32.mul (local.get $K) (local.get $Cin)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $corner (i32.add (local.get $xp)
            (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hp)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $rowBytes))
                     (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $pixBytes)))))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $second (select (i32.const 16) (i32.const 0) (i32.le_u (i32.add (local.get $k) (i32.const 32)) (local.get $cBytes))))
            (call $pool_window_sums (local.get $corner) (i32.add (local.get $w) (local.get $k)) (local.get $second) (local.get $K) (local.get $taps)
              (local.get $rowBytes) (local.get $pixBytes) (local.get $cBytes))
            (local.set $b3) (local.set $b2) (local.set $b1) (local.set $b0)
            (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
            (v128.store (local.get $out)
              (f32x4.pmax (v128.const f32x4 0 0 0 0)
                (f32x4.add (f32x4.max (f32x4.max (local.get $a0) (local.get $a1)) (f32x4.max (local.get $a2) (local.get $a3)))
                           (v128.load (i32.add (local.get $bias) (local.get $k))))))
            (if (local.get $second)
              (then
                (v128.store offset=16 (local.get $out)
                  (f32x4.pmax (v128.const f32x4 0 0 0 0)
                    (f32x4.add (f32x4.max (f32x4.max (local.get $b0) (local.get $b1)) (f32x4.max (local.get $b2) (local.get $b3)))
                               (v128.load offset=16 (i32.add (local.get $bias) (local.get $k))))))))
            (local.set $out (i32.add (local.get $out) (i32.add (i32.const 16) (local.get $second))))
            (local.set $k (i32.add (local.get $k) (i32.add (i32.const 16) (local.get $second))))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; The gradient of conv_relu_pool_2x2 at w and bias. Each window's values
  ;; are recomputed (same function, same bits) instead of stored, its dy
  ;; routed by $route_pool_window, and
  ;; dw[ky, kx, ci, c] += sum over the 4 positions of xp[...] * routed dy,
  ;; db[c] += routed dy: the activation-sized dz is never written. Windows
  ;; whose dy is +0 add nothing and are skipped. Shapes as
  ;; conv_relu_pool_2x2; dy [B, OH, OW, C], dw [K, K, Cin, C].
  (func (export "conv_relu_pool_2x2_grad")
    (param $dy i32) (param $xp i32) (param $w i32) (param $bias i32) (param $dw i32) (param $db i32) (param $B i32) (param $Hp i32)
    (param $Wp i32) (param $Cin i32) (param $C i32) (param $K i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $second i32) (local $cBytes i32) (local $pixBytes i32) (local $rowBytes i32)
    (local $taps i32) (local $corner i32) (local $ky i32) (local $j i32) (local $at i32) (local $wAt i32) (local $xv v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $ga v128) (local $gb v128)
    (call $zero (local.get $dw) (i32.mul (i32.mul (i32.mul (local.get $K) (local.get $K)) (local.get $Cin)) (local.get $C)))
    (call $zero (local.get $db) (local.get $C))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $pixBytes (i32.shl (local.get $Cin) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $Wp) (local.get $pixBytes)))
    (local.set $taps (i32.mul (local.get $K) (local.get $Cin)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $corner (i32.add (local.get $xp)
            (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hp)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $rowBytes))
                     (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $pixBytes)))))
          (local.set $k (i32.const 0))
          (loop $channels
            (local.set $second (select (i32.const 16) (i32.const 0) (i32.le_u (i32.add (local.get $k) (i32.const 32)) (local.get $cBytes))))
            (local.set $ga (v128.load (local.get $dy)))
            ;; a lone last group routes nothing through b (which reads a's
            ;; dy and bias again, never past the end of either)
            (local.set $gb (select (v128.load (i32.add (local.get $dy) (local.get $second))) (v128.const i32x4 0 0 0 0) (local.get $second)))
            (if (v128.any_true (v128.or (local.get $ga) (local.get $gb)))
              (then
                (call $pool_window_sums (local.get $corner) (i32.add (local.get $w) (local.get $k)) (local.get $second) (local.get $K) (local.get $taps)
                  (local.get $rowBytes) (local.get $pixBytes) (local.get $cBytes))
                (local.set $b3) (local.set $b2) (local.set $b1) (local.set $b0)
                (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
                (call $route_pool_window (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)
                  (v128.load (i32.add (local.get $bias) (local.get $k))) (local.get $ga))
                (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
                (call $route_pool_window (local.get $b0) (local.get $b1) (local.get $b2) (local.get $b3)
                  (v128.load (i32.add (i32.add (local.get $bias) (local.get $k)) (local.get $second))) (local.get $gb))
                (local.set $b3) (local.set $b2) (local.set $b1) (local.set $b0)
                (v128.store (i32.add (local.get $db) (local.get $k))
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.load (i32.add (local.get $db) (local.get $k))) (local.get $a0)) (local.get $a1)) (local.get $a2)) (local.get $a3)))
                (v128.store (i32.add (i32.add (local.get $db) (local.get $k)) (local.get $second))
                  (f32x4.add (f32x4.add (f32x4.add (f32x4.add (v128.load (i32.add (i32.add (local.get $db) (local.get $k)) (local.get $second))) (local.get $b0)) (local.get $b1)) (local.get $b2)) (local.get $b3)))
                (local.set $wAt (i32.add (local.get $dw) (local.get $k)))
                (local.set $at (local.get $corner))
                (local.set $ky (i32.const 0))
                (loop $tap_rows
                  (local.set $j (i32.const 0))
                  (loop $taps
                    (local.set $xv (v128.load32_splat (local.get $at)))
                    (local.set $ga (f32x4.mul (local.get $xv) (local.get $a0)))
                    (local.set $gb (f32x4.mul (local.get $xv) (local.get $b0)))
                    (local.set $xv (v128.load32_splat (i32.add (local.get $at) (local.get $pixBytes))))
                    (local.set $ga (f32x4.add (local.get $ga) (f32x4.mul (local.get $xv) (local.get $a1))))
                    (local.set $gb (f32x4.add (local.get $gb) (f32x4.mul (local.get $xv) (local.get $b1))))
                    (local.set $xv (v128.load32_splat (i32.add (local.get $at) (local.get $rowBytes))))
                    (local.set $ga (f32x4.add (local.get $ga) (f32x4.mul (local.get $xv) (local.get $a2))))
                    (local.set $gb (f32x4.add (local.get $gb) (f32x4.mul (local.get $xv) (local.get $b2))))
                    (local.set $xv (v128.load32_splat (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $pixBytes)))))
                    (local.set $ga (f32x4.add (local.get $ga) (f32x4.mul (local.get $xv) (local.get $a3))))
                    (local.set $gb (f32x4.add (local.get $gb) (f32x4.mul (local.get $xv) (local.get $b3))))
                    (v128.store (local.get $wAt) (f32x4.add (v128.load (local.get $wAt)) (local.get $ga)))
                    ;; a lone group's b is +0 and wAt + 0 is a's own row, just written
                    (v128.store (i32.add (local.get $wAt) (local.get $second)) (f32x4.add (v128.load (i32.add (local.get $wAt) (local.get $second))) (local.get $gb)))
                    (local.set $at (i32.add (local.get $at) (i32.const 4)))
                    (local.set $wAt (i32.add (local.get $wAt) (local.get $cBytes)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br_if $taps (i32.lt_u (local.get $j) (local.get $taps))))
                  (local.set $at (i32.add (local.get $at) (i32.sub (local.get $rowBytes) (i32.shl (local.get $taps) (i32.const 2)))))
                  (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                  (br_if $tap_rows (i32.lt_u (local.get $ky) (local.get $K))))))
            (local.set $dy (i32.add (local.get $dy) (i32.add (i32.const 16) (local.get $second))))
            (local.set $k (i32.add (local.get $k) (i32.add (i32.const 16) (local.get $second))))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; Filter gradient of a depthwise convolution with channel multiplier 1:
  ;; dw[i, j, c] = sum over b, oy, ox of xp[b, oy*sh+i, ox*sw+j, c] * dy[b, oy, ox, c],
  ;; with xp the input already padded (so no bounds checks); C a multiple of 4.
  (func (export "depthwise_filter_grad")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $k i32)
    (local $cBytes i32) (local $xAt i32) (local $wAt i32) (local $g i32)
    (call $zero (local.get $dw) (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $i (i32.const 0))
          (loop $taps_i
            (local.set $j (i32.const 0))
            (loop $taps_j
              (local.set $xAt
                (i32.add (local.get $xp)
                  (i32.mul
                    (i32.add
                      (i32.mul (i32.add (i32.mul (local.get $b) (local.get $Hp))
                                        (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)))
                               (local.get $Wp))
                      (i32.add (i32.mul (local.get $ox) (local.get $sw)) (local.get $j)))
                    (local.get $cBytes))))
              (local.set $wAt (i32.add (local.get $dw)
                (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fw)) (local.get $j)) (local.get $cBytes))))
              (local.set $k (i32.const 0))
              (loop $channels
                (v128.store (i32.add (local.get $wAt) (local.get $k))
                  (f32x4.add (v128.load (i32.add (local.get $wAt) (local.get $k)))
                             (f32x4.mul (v128.load (i32.add (local.get $xAt) (local.get $k)))
                                        (v128.load (i32.add (local.get $g) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
          (local.set $g (i32.add (local.get $g) (local.get $cBytes)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; depthwise_filter_grad for 3x3 filters, with the 9 taps' sums of one
  ;; channel group held in registers over an image (the general loop loads
  ;; and stores its accumulator for every product): dy is read once per
  ;; pixel for all 9 taps. The same products, added in the same order
  ;; (b, oy, ox), so the same bits.
  (func (export "depthwise_filter_grad_3x3")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32)
    (local $cBytes i32) (local $colBytes i32) (local $colBytes2 i32) (local $rowBytes i32) (local $rowBytes2 i32)
    (local $xImage i32) (local $gImage i32) (local $at i32) (local $gAt i32) (local $wAt i32) (local $g v128)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a20 v128) (local $a21 v128) (local $a22 v128)
    (call $zero (local.get $dw) (i32.mul (i32.const 9) (local.get $C)))
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $colBytes (local.get $cBytes))
    (local.set $colBytes2 (i32.shl (local.get $cBytes) (i32.const 1)))
    (local.set $rowBytes (i32.mul (local.get $Wp) (local.get $cBytes)))
    (local.set $rowBytes2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $rowBytes))))
      (local.set $gImage (i32.add (local.get $dy) (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $cBytes))))
      (local.set $k (i32.const 0))
      (loop $groups
        (local.set $wAt (i32.add (local.get $dw) (local.get $k)))
        (local.set $a00 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 0) (local.get $cBytes)))))
        (local.set $a01 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 1) (local.get $cBytes)))))
        (local.set $a02 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 2) (local.get $cBytes)))))
        (local.set $a10 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 3) (local.get $cBytes)))))
        (local.set $a11 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 4) (local.get $cBytes)))))
        (local.set $a12 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 5) (local.get $cBytes)))))
        (local.set $a20 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 6) (local.get $cBytes)))))
        (local.set $a21 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 7) (local.get $cBytes)))))
        (local.set $a22 (v128.load (i32.add (local.get $wAt) (i32.mul (i32.const 8) (local.get $cBytes)))))
        (local.set $oy (i32.const 0))
        (loop $rows
          (local.set $at (i32.add (i32.add (local.get $xImage) (local.get $k)) (i32.mul (i32.mul (local.get $oy) (local.get $sh)) (local.get $rowBytes))))
          (local.set $gAt (i32.add (i32.add (local.get $gImage) (local.get $k)) (i32.mul (i32.mul (local.get $oy) (local.get $OW)) (local.get $cBytes))))
          (local.set $ox (i32.const 0))
          (loop $cols
            (local.set $g (v128.load (local.get $gAt)))
            (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (v128.load (local.get $at)) (local.get $g))))
            (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $colBytes))) (local.get $g))))
            (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $colBytes2))) (local.get $g))))
            (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $rowBytes))) (local.get $g))))
            (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $colBytes))) (local.get $g))))
            (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $colBytes2))) (local.get $g))))
            (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (v128.load (i32.add (local.get $at) (local.get $rowBytes2))) (local.get $g))))
            (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes2)) (local.get $colBytes))) (local.get $g))))
            (local.set $a22 (f32x4.add (local.get $a22) (f32x4.mul (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes2)) (local.get $colBytes2))) (local.get $g))))
            (local.set $at (i32.add (local.get $at) (i32.mul (local.get $sw) (local.get $cBytes))))
            (local.set $gAt (i32.add (local.get $gAt) (local.get $cBytes)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 0) (local.get $cBytes))) (local.get $a00))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 1) (local.get $cBytes))) (local.get $a01))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 2) (local.get $cBytes))) (local.get $a02))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 3) (local.get $cBytes))) (local.get $a10))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 4) (local.get $cBytes))) (local.get $a11))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 5) (local.get $cBytes))) (local.get $a12))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 6) (local.get $cBytes))) (local.get $a20))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 7) (local.get $cBytes))) (local.get $a21))
        (v128.store (i32.add (local.get $wAt) (i32.mul (i32.const 8) (local.get $cBytes))) (local.get $a22))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $groups (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; out[c] = sum over r of x[r, c]: a bias gradient (x [rows, C]); C a multiple of 4.
  (func (export "sum_rows") (param $x i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $r i32) (local $k i32) (local $cBytes i32)
    (call $zero (local.get $out) (local.get $C))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (local.get $rows)) (then (return)))
    (local.set $r (i32.const 0))
    (loop $rows_loop
      (local.set $k (i32.const 0))
      (loop $channels
        (v128.store (i32.add (local.get $out) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $k)))
                     (v128.load (i32.add (local.get $x) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $x (i32.add (local.get $x) (local.get $cBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows_loop (i32.lt_s (local.get $r) (local.get $rows)))))

  ;; Filter gradient of a convolution, as a matrix product reduced over output
  ;; positions, with no packing of either operand (XNNPACK's GEMM packs its
  ;; "weights" operand, which here is a fresh activation gradient every step):
  ;;   dw[i, j, c, n] = sum over b, oy, ox of xp[b, oy*sh+i, ox*sw+j, c] * dy[b, oy, ox, n]
  ;; xp is the padded input (no bounds checks); dw is HWIO, the filter's own
  ;; layout. C and N are multiples of 4. Register blocks of 4 input channels
  ;; (broadcast loads) x 8 (or 4) output channels, accumulated over one image
  ;; at a time so that image's input and gradient stay in cache.
  (func (export "conv_filter_grad")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $C i32) (param $OH i32) (param $OW i32) (param $N i32) (param $fh i32) (param $fw i32)
    (param $sh i32) (param $sw i32)
    (local $b i32) (local $i i32) (local $j i32) (local $c i32) (local $n i32)
    (local $xImage i32) (local $gImage i32) (local $wRow i32)
    (call $zero (local.get $dw) (i32.mul (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)) (local.get $N)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $Wp)) (local.get $C)) (i32.const 2))))
      (local.set $gImage (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $N)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (loop $taps_i
        (local.set $j (i32.const 0))
        (loop $taps_j
          (local.set $c (i32.const 0))
          (loop $channels
            ;; dw row (i, j, c): byte offset of dw[i, j, c, 0]
            (local.set $wRow (i32.add (local.get $dw)
              (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fw)) (local.get $j)) (local.get $C)) (local.get $c)) (local.get $N)) (i32.const 2))))
            (local.set $n (i32.const 0))
            (loop $outputs
              (if (i32.le_s (i32.add (local.get $n) (i32.const 8)) (local.get $N))
                (then
                  (call $filter_block8
                    (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (local.get $C)) (local.get $c)) (i32.const 2)))
                    (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                    (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                    (local.get $OH) (local.get $OW) (local.get $Wp) (local.get $C) (local.get $N) (local.get $sh) (local.get $sw))
                  (local.set $n (i32.add (local.get $n) (i32.const 8))))
                (else
                  (call $filter_block4
                    (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (local.get $C)) (local.get $c)) (i32.const 2)))
                    (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                    (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                    (local.get $OH) (local.get $OW) (local.get $Wp) (local.get $C) (local.get $N) (local.get $sh) (local.get $sw))
                  (local.set $n (i32.add (local.get $n) (i32.const 4)))))
              (br_if $outputs (i32.lt_s (local.get $n) (local.get $N))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $channels (i32.lt_s (local.get $c) (local.get $C))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; One image's contribution to a 4 (input channels, rows of w) x 8 (output
  ;; channels) block of the filter gradient. x points at xp[b, i, j, c] (the
  ;; tap's first input pixel), g at dy[b, 0, 0, n], w at dw[i, j, c, n].
  (func $filter_block8
    (param $x i32) (param $g i32) (param $w i32) (param $OH i32) (param $OW i32) (param $Wp i32)
    (param $C i32) (param $N i32) (param $sh i32) (param $sw i32)
    (local $oy i32) (local $ox i32) (local $xRow i32) (local $xAt i32) (local $xStep i32) (local $xRowStep i32) (local $nBytes i32)
    (local $a v128) (local $g0 v128) (local $g1 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $nBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $C)) (i32.const 2)))
    (local.set $xRowStep (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $Wp)) (local.get $C)) (i32.const 2)))
    (local.set $s00 (v128.load (local.get $w)))
    (local.set $s01 (v128.load offset=16 (local.get $w)))
    (local.set $s10 (v128.load (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s11 (v128.load offset=16 (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s20 (v128.load (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s21 (v128.load offset=16 (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s30 (v128.load (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $s31 (v128.load offset=16 (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $xRow (local.get $x))
    (local.set $oy (i32.const 0))
    (loop $rows
      (local.set $xAt (local.get $xRow))
      (local.set $ox (i32.const 0))
      (loop $cols
        (local.set $g0 (v128.load (local.get $g)))
        (local.set $g1 (v128.load offset=16 (local.get $g)))
        (local.set $a (v128.load32_splat (local.get $xAt)))
        (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=4 (local.get $xAt)))
        (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=8 (local.get $xAt)))
        (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $a (v128.load32_splat offset=12 (local.get $xAt)))
        (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $a) (local.get $g0))))
        (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $a) (local.get $g1))))
        (local.set $xAt (i32.add (local.get $xAt) (local.get $xStep)))
        (local.set $g (i32.add (local.get $g) (local.get $nBytes)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
      (local.set $xRow (i32.add (local.get $xRow) (local.get $xRowStep)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
    (v128.store (local.get $w) (local.get $s00))
    (v128.store offset=16 (local.get $w) (local.get $s01))
    (v128.store (i32.add (local.get $w) (local.get $nBytes)) (local.get $s10))
    (v128.store offset=16 (i32.add (local.get $w) (local.get $nBytes)) (local.get $s11))
    (v128.store (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s20))
    (v128.store offset=16 (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s21))
    (v128.store (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s30))
    (v128.store offset=16 (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s31)))

  ;; As $filter_block8, for the last 4 output channels when N is not a multiple of 8.
  (func $filter_block4
    (param $x i32) (param $g i32) (param $w i32) (param $OH i32) (param $OW i32) (param $Wp i32)
    (param $C i32) (param $N i32) (param $sh i32) (param $sw i32)
    (local $oy i32) (local $ox i32) (local $xRow i32) (local $xAt i32) (local $xStep i32) (local $xRowStep i32) (local $nBytes i32)
    (local $g0 v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $nBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $C)) (i32.const 2)))
    (local.set $xRowStep (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $Wp)) (local.get $C)) (i32.const 2)))
    (local.set $s0 (v128.load (local.get $w)))
    (local.set $s1 (v128.load (i32.add (local.get $w) (local.get $nBytes))))
    (local.set $s2 (v128.load (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1)))))
    (local.set $s3 (v128.load (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3)))))
    (local.set $xRow (local.get $x))
    (local.set $oy (i32.const 0))
    (loop $rows
      (local.set $xAt (local.get $xRow))
      (local.set $ox (i32.const 0))
      (loop $cols
        (local.set $g0 (v128.load (local.get $g)))
        (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load32_splat (local.get $xAt)) (local.get $g0))))
        (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (v128.load32_splat offset=4 (local.get $xAt)) (local.get $g0))))
        (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (v128.load32_splat offset=8 (local.get $xAt)) (local.get $g0))))
        (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (v128.load32_splat offset=12 (local.get $xAt)) (local.get $g0))))
        (local.set $xAt (i32.add (local.get $xAt) (local.get $xStep)))
        (local.set $g (i32.add (local.get $g) (local.get $nBytes)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
      (local.set $xRow (i32.add (local.get $xRow) (local.get $xRowStep)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
    (v128.store (local.get $w) (local.get $s0))
    (v128.store (i32.add (local.get $w) (local.get $nBytes)) (local.get $s1))
    (v128.store (i32.add (local.get $w) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $s2))
    (v128.store (i32.add (local.get $w) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $s3)))

  ;; im2col rows, one per output position, padded to Kp columns (a multiple
  ;; of 4, extra columns 0), for convolutions whose channel count is not a
  ;; multiple of 4 (a grey or RGB first layer): the filter gradient is then
  ;; conv_filter_grad of a 1x1 convolution over these rows.
  ;;   dst[(b*OH + oy)*OW + ox, (i*fw + j)*C + c] = x[b, oy*sh+i-top, ox*sw+j-left, c] or 0
  (func (export "im2col_rows")
    (param $x i32) (param $dst i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32)
    (param $top i32) (param $left i32) (param $Kp i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $y i32) (local $xx i32)
    (local $row i32) (local $at i32) (local $used i32)
    (local.set $used (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $C)))
    (local.set $row (local.get $dst))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $at (local.get $row))
          (local.set $i (i32.const 0))
          (loop $taps_i
            (local.set $y (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)) (local.get $top)))
            (local.set $j (i32.const 0))
            (loop $taps_j
              (local.set $xx (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $sw)) (local.get $j)) (local.get $left)))
              (if (i32.and
                    (i32.and (i32.ge_s (local.get $y) (i32.const 0)) (i32.lt_s (local.get $y) (local.get $H)))
                    (i32.and (i32.ge_s (local.get $xx) (i32.const 0)) (i32.lt_s (local.get $xx) (local.get $W))))
                (then
                  (if (i32.eq (local.get $C) (i32.const 1))
                    (then
                      (f32.store (local.get $at)
                        (f32.load (i32.add (local.get $x)
                          (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $y)) (local.get $W)) (local.get $xx)) (i32.const 2))))))
                    (else
                      (call $copy (local.get $at)
                        (i32.add (local.get $x)
                          (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $y)) (local.get $W)) (local.get $xx)) (local.get $C)) (i32.const 2)))
                        (local.get $C)))))
                (else (call $zero (local.get $at) (local.get $C))))
              (local.set $at (i32.add (local.get $at) (i32.shl (local.get $C) (i32.const 2))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fw))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
          (call $zero (local.get $at) (i32.sub (local.get $Kp) (local.get $used)))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $Kp) (i32.const 2))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; out[r, c] = x[r, c] + bias[c]: a convolution's bias (x [rows, C]); C a
  ;; multiple of 4. The backend's broadcasting add indexes element by element.
  (func (export "add_rows") (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $r i32) (local $k i32) (local $cBytes i32)
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (local.get $rows)) (then (return)))
    (local.set $r (i32.const 0))
    (loop $rows_loop
      (local.set $k (i32.const 0))
      (loop $channels
        (v128.store (i32.add (local.get $out) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $x) (local.get $k)))
                     (v128.load (i32.add (local.get $bias) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $x (i32.add (local.get $x) (local.get $cBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $cBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows_loop (i32.lt_s (local.get $r) (local.get $rows)))))

  ;; ReLU's gradient in one pass: dx = dy * step(x), step(x) = 1 where x > 0,
  ;; 0 where not, NaN where x is NaN (tfjs's Step), so that the result is
  ;; bit-identical to the Step + Multiply it replaces. n floats.
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
    (local $end i32) (local $v v128) (local $s f32)
    (local.set $end (i32.add (local.get $dx) (i32.shl (local.get $n) (i32.const 2))))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.gt_u (i32.add (local.get $dx) (i32.const 16)) (local.get $end)))
        (local.set $v (v128.load (local.get $x)))
        (v128.store (local.get $dx)
          (f32x4.mul (v128.load (local.get $dy))
            (v128.bitselect (local.get $v)
              (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
              (f32x4.ne (local.get $v) (local.get $v)))))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $dx) (local.get $end)))
        (local.set $s (f32.load (local.get $x)))
        (f32.store (local.get $dx)
          (f32.mul (f32.load (local.get $dy))
            (select (local.get $s) (select (f32.const 1) (f32.const 0) (f32.gt (local.get $s) (f32.const 0))) (f32.ne (local.get $s) (local.get $s)))))
        (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 4)))
        (br $scalars))))

  ;; dz = relu_grad(dy, x) and db[c] = sum over rows of dz[r, c], in one pass:
  ;; the gradient of a fused conv + bias + ReLU ([rows, C], C a multiple of 4).
  ;; The same arithmetic, in the same order, as relu_grad then sum_rows.
  (func (export "relu_grad_bias") (param $dy i32) (param $x i32) (param $dz i32) (param $db i32) (param $rows i32) (param $C i32)
    (local $r i32) (local $k i32) (local $cBytes i32) (local $v v128) (local $g v128)
    (call $zero (local.get $db) (local.get $C))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (local.get $rows)) (then (return)))
    (local.set $r (i32.const 0))
    (loop $rows_loop
      (local.set $k (i32.const 0))
      (loop $channels
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $k))))
        (local.set $g
          (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $k)))
            (v128.bitselect (local.get $v)
              (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
              (f32x4.ne (local.get $v) (local.get $v)))))
        (v128.store (i32.add (local.get $dz) (local.get $k)) (local.get $g))
        (v128.store (i32.add (local.get $db) (local.get $k))
          (f32x4.add (v128.load (i32.add (local.get $db) (local.get $k))) (local.get $g)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
      (local.set $x (i32.add (local.get $x) (local.get $cBytes)))
      (local.set $dy (i32.add (local.get $dy) (local.get $cBytes)))
      (local.set $dz (i32.add (local.get $dz) (local.get $cBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows_loop (i32.lt_s (local.get $r) (local.get $rows)))))

  ;; 2x2, stride-2, unpadded max pool: out [B, OH, OW, C] from x [B, H, W, C];
  ;; C a multiple of 4, OH <= H/2, OW <= W/2.
  (func (export "max_pool_2x2")
    (param $x i32) (param $out i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $k i32) (local $cBytes i32) (local $rowBytes i32) (local $at i32)
    (if (i32.or (i32.eqz (local.get $OH)) (i32.eqz (local.get $OW))) (then (return)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $oy (i32.const 0))
      (loop $rows
        (local.set $ox (i32.const 0))
        (loop $cols
          (local.set $at (i32.add (local.get $x)
            (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1))) (local.get $W))
                       (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cBytes))))
          (local.set $k (i32.const 0))
          (loop $channels
            (v128.store (local.get $out)
              (f32x4.max
                (f32x4.max (v128.load (i32.add (local.get $at) (local.get $k)))
                           (v128.load (i32.add (i32.add (local.get $at) (local.get $cBytes)) (local.get $k))))
                (f32x4.max (v128.load (i32.add (i32.add (local.get $at) (local.get $rowBytes)) (local.get $k)))
                           (v128.load (i32.add (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cBytes))) (local.get $k))))))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $k) (local.get $cBytes))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $ox) (local.get $OW))))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $oy) (local.get $OH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; One Adam step over n floats, in tfjs's operation order (so results match
  ;; its tf.train.adam op by op, every operation an IEEE float32 one):
  ;;   m' = m*b1 + g*(1-b1);  v' = v*b2 + (g*g)*(1-b2)
  ;;   w' = ((m'/c1) / (sqrt(v'/c2) + eps)) * (-lr) + w,  c = 1 - beta^t
  ;; Writes w', m', v' to the outputs; each element is read before its outputs
  ;; are written, at the same index, so mOut and vOut may be m and v.
  (func (export "adam_update")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $wOut i32) (param $mOut i32) (param $vOut i32)
    (param $n i32) (param $negLr f32) (param $b1 f32) (param $oneMinusB1 f32) (param $b2 f32) (param $oneMinusB2 f32)
    (param $eps f32) (param $c1 f32) (param $c2 f32)
    (local $at i32) (local $end i32) (local $vecEnd i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $mf f32) (local $vf f32) (local $gf f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $at (i32.const 0))
    (block $vectors_done
      (loop $vectors
        (br_if $vectors_done (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $at))) (f32x4.splat (local.get $b1)))
                                  (f32x4.mul (local.get $gv) (f32x4.splat (local.get $oneMinusB1)))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (f32x4.splat (local.get $b2)))
                                  (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $oneMinusB2)))))
        (v128.store (i32.add (local.get $mOut) (local.get $at)) (local.get $mv))
        (v128.store (i32.add (local.get $vOut) (local.get $at)) (local.get $vv))
        (v128.store (i32.add (local.get $wOut) (local.get $at))
          (f32x4.add
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (f32x4.splat (local.get $c1)))
                         (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $c2)))) (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $negLr)))
            (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (block $done
      (loop $scalars
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gf (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $mf (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $at))) (local.get $b1))
                                (f32.mul (local.get $gf) (local.get $oneMinusB1))))
        (local.set $vf (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $at))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $gf) (local.get $gf)) (local.get $oneMinusB2))))
        (f32.store (i32.add (local.get $mOut) (local.get $at)) (local.get $mf))
        (f32.store (i32.add (local.get $vOut) (local.get $at)) (local.get $vf))
        (f32.store (i32.add (local.get $wOut) (local.get $at))
          (f32.add
            (f32.mul
              (f32.div (f32.div (local.get $mf) (local.get $c1))
                       (f32.add (f32.sqrt (f32.div (local.get $vf) (local.get $c2))) (local.get $eps)))
              (local.get $negLr))
            (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $scalars))))

  ;; conv_filter_grad for a single-channel input (a grey first layer): four
  ;; neighbouring taps of a filter row take the place of four channels, since
  ;; xp[b, y, x+j .. x+j+3] are contiguous. dwp is [fh, fwp, 1, N] with fwp a
  ;; multiple of 4 (columns from fw on are scratch); xp must have fwp - fw
  ;; extra zero columns on the right so every read stays in the row.
  (func (export "conv_filter_grad_c1")
    (param $xp i32) (param $dy i32) (param $dwp i32) (param $B i32) (param $Hp i32) (param $Wp i32)
    (param $OH i32) (param $OW i32) (param $N i32) (param $fh i32) (param $fwp i32) (param $sh i32) (param $sw i32)
    (local $b i32) (local $i i32) (local $j i32) (local $n i32)
    (local $xImage i32) (local $gImage i32) (local $wRow i32) (local $xTap i32)
    (call $zero (local.get $dwp) (i32.mul (i32.mul (local.get $fh) (local.get $fwp)) (local.get $N)))
    (local.set $b (i32.const 0))
    (loop $batch
      (local.set $xImage (i32.add (local.get $xp) (i32.shl (i32.mul (i32.mul (local.get $b) (local.get $Hp)) (local.get $Wp)) (i32.const 2))))
      (local.set $gImage (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW)) (local.get $N)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (loop $taps_i
        (local.set $j (i32.const 0))
        (loop $taps_j
          (local.set $xTap (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $Wp)) (local.get $j)) (i32.const 2))))
          (local.set $wRow (i32.add (local.get $dwp) (i32.shl (i32.mul (i32.add (i32.mul (local.get $i) (local.get $fwp)) (local.get $j)) (local.get $N)) (i32.const 2))))
          (local.set $n (i32.const 0))
          (loop $outputs
            (if (i32.le_s (i32.add (local.get $n) (i32.const 8)) (local.get $N))
              (then
                (call $filter_block8 (local.get $xTap) (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                  (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                  (local.get $OH) (local.get $OW) (local.get $Wp) (i32.const 1) (local.get $N) (local.get $sh) (local.get $sw))
                (local.set $n (i32.add (local.get $n) (i32.const 8))))
              (else
                (call $filter_block4 (local.get $xTap) (i32.add (local.get $gImage) (i32.shl (local.get $n) (i32.const 2)))
                  (i32.add (local.get $wRow) (i32.shl (local.get $n) (i32.const 2)))
                  (local.get $OH) (local.get $OW) (local.get $Wp) (i32.const 1) (local.get $N) (local.get $sh) (local.get $sw))
                (local.set $n (i32.add (local.get $n) (i32.const 4)))))
            (br_if $outputs (i32.lt_s (local.get $n) (local.get $N))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br_if $taps_j (i32.lt_s (local.get $j) (local.get $fwp))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $taps_i (i32.lt_s (local.get $i) (local.get $fh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batch (i32.lt_s (local.get $b) (local.get $B)))))

  ;; ---- Winograd F(2x2, 3x3) (Lavin & Gray 2016) ----
  ;; A 3x3, stride-1, pad-1 ('same') convolution as 16 matrix products over
  ;; 4x4 input tiles: 16 multiplies per 2x2 outputs and channel pair instead
  ;; of 36. Tiles go in chunks small enough that the transformed tiles stay in
  ;; cache between the three passes. Tile t = (b*tilesH + ty)*tilesW + tx
  ;; reads input rows 2ty-1 .. 2ty+2 and columns 2tx-1 .. 2tx+2, and makes
  ;; output rows 2ty, 2ty+1 and columns 2tx, 2tx+1 (those inside the output).
  ;; Layouts, xi = 4*row + column of the 4x4 transformed tile:
  ;;   V [16][chunk][C]    transformed input tiles  B^T d B
  ;;   M [16][chunk][N]    products, or transformed output gradients A dY A^T
  ;;   U [16][C][N]        transformed filter G g G^T (made by the caller)
  ;; C and N are multiples of 4, chunk a multiple of 4.
  
  ;; V[xi][i][c] for the n tiles t0 .. t0+n-1 of x [B, H, W, C]. Tiles that
  ;; reach over the border are first copied into patch [4][4][C] with zeros.
  (func $wino_input
    (param $x i32) (param $V i32) (param $patch i32) (param $H i32) (param $W i32) (param $C i32)
    (param $tilesH i32) (param $tilesW i32) (param $t0 i32) (param $n i32) (param $chunk i32)
    (local $i i32) (local $t i32) (local $b i32) (local $ty i32) (local $tx i32) (local $y0 i32) (local $x0 i32)
    (local $base i32) (local $rs i32) (local $cs i32) (local $cb i32) (local $cEnd i32) (local $q i32) (local $o i32) (local $vs i32)
    (local $r i32) (local $k i32) (local $yy i32) (local $xx i32)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $e00 v128) (local $e01 v128) (local $e02 v128) (local $e03 v128) (local $e10 v128) (local $e11 v128) (local $e12 v128) (local $e13 v128) (local $e20 v128) (local $e21 v128) (local $e22 v128) (local $e23 v128) (local $e30 v128) (local $e31 v128) (local $e32 v128) (local $e33 v128)
    (local.set $cs (i32.shl (local.get $C) (i32.const 2)))
    (local.set $vs (i32.shl (i32.mul (local.get $chunk) (local.get $C)) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $tiles
      (local.set $t (i32.add (local.get $t0) (local.get $i)))
      (local.set $b (i32.div_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $r (i32.rem_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $ty (i32.div_u (local.get $r) (local.get $tilesW)))
      (local.set $tx (i32.rem_u (local.get $r) (local.get $tilesW)))
      (local.set $y0 (i32.sub (i32.shl (local.get $ty) (i32.const 1)) (i32.const 1)))
      (local.set $x0 (i32.sub (i32.shl (local.get $tx) (i32.const 1)) (i32.const 1)))
      (if (i32.and (i32.and (i32.ge_s (local.get $y0) (i32.const 0)) (i32.ge_s (local.get $x0) (i32.const 0)))
                   (i32.and (i32.le_s (i32.add (local.get $y0) (i32.const 4)) (local.get $H)) (i32.le_s (i32.add (local.get $x0) (i32.const 4)) (local.get $W))))
        (then
          (local.set $base (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $y0)) (local.get $W)) (local.get $x0)) (local.get $cs))))
          (local.set $rs (i32.mul (local.get $W) (local.get $cs))))
        (else
          (call $zero (local.get $patch) (i32.shl (local.get $C) (i32.const 4)))
          (local.set $r (i32.const 0))
          (loop $patch_rows
            (local.set $yy (i32.add (local.get $y0) (local.get $r)))
            (if (i32.and (i32.ge_s (local.get $yy) (i32.const 0)) (i32.lt_s (local.get $yy) (local.get $H)))
              (then
                (local.set $k (i32.const 0))
                (loop $patch_cols
                  (local.set $xx (i32.add (local.get $x0) (local.get $k)))
                  (if (i32.and (i32.ge_s (local.get $xx) (i32.const 0)) (i32.lt_s (local.get $xx) (local.get $W)))
                    (then (call $copy
                      (i32.add (local.get $patch) (i32.mul (i32.add (i32.shl (local.get $r) (i32.const 2)) (local.get $k)) (local.get $cs)))
                      (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $yy)) (local.get $W)) (local.get $xx)) (local.get $cs)))
                      (local.get $C))))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br_if $patch_cols (i32.lt_s (local.get $k) (i32.const 4))))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $patch_rows (i32.lt_s (local.get $r) (i32.const 4))))
          (local.set $base (local.get $patch))
          (local.set $rs (i32.shl (local.get $cs) (i32.const 2)))))
      ;; one row at a time: d B (columns combined), then B^T over the rows
      (local.set $o (i32.add (local.get $V) (i32.mul (local.get $i) (local.get $cs))))
      (local.set $cb (i32.const 0))
      (loop $channels
        (local.set $q (i32.add (i32.add (local.get $base) (local.get $cb)) (i32.const 0)))
        (local.set $d0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d3 (v128.load (local.get $q)))
        (local.set $e00 (f32x4.sub (local.get $d0) (local.get $d2))) (local.set $e01 (f32x4.add (local.get $d1) (local.get $d2)))
        (local.set $e02 (f32x4.sub (local.get $d2) (local.get $d1))) (local.set $e03 (f32x4.sub (local.get $d1) (local.get $d3)))
        (local.set $q (i32.add (i32.add (local.get $base) (local.get $cb)) (i32.mul (local.get $rs) (i32.const 1))))
        (local.set $d0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d3 (v128.load (local.get $q)))
        (local.set $e10 (f32x4.sub (local.get $d0) (local.get $d2))) (local.set $e11 (f32x4.add (local.get $d1) (local.get $d2)))
        (local.set $e12 (f32x4.sub (local.get $d2) (local.get $d1))) (local.set $e13 (f32x4.sub (local.get $d1) (local.get $d3)))
        (local.set $q (i32.add (i32.add (local.get $base) (local.get $cb)) (i32.mul (local.get $rs) (i32.const 2))))
        (local.set $d0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d3 (v128.load (local.get $q)))
        (local.set $e20 (f32x4.sub (local.get $d0) (local.get $d2))) (local.set $e21 (f32x4.add (local.get $d1) (local.get $d2)))
        (local.set $e22 (f32x4.sub (local.get $d2) (local.get $d1))) (local.set $e23 (f32x4.sub (local.get $d1) (local.get $d3)))
        (local.set $q (i32.add (i32.add (local.get $base) (local.get $cb)) (i32.mul (local.get $rs) (i32.const 3))))
        (local.set $d0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (local.set $d3 (v128.load (local.get $q)))
        (local.set $e30 (f32x4.sub (local.get $d0) (local.get $d2))) (local.set $e31 (f32x4.add (local.get $d1) (local.get $d2)))
        (local.set $e32 (f32x4.sub (local.get $d2) (local.get $d1))) (local.set $e33 (f32x4.sub (local.get $d1) (local.get $d3)))
        (local.set $q (i32.add (local.get $o) (local.get $cb)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e00) (local.get $e20))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e01) (local.get $e21))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e02) (local.get $e22))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e03) (local.get $e23))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.add (local.get $e10) (local.get $e20))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.add (local.get $e11) (local.get $e21))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.add (local.get $e12) (local.get $e22))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.add (local.get $e13) (local.get $e23))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e20) (local.get $e10))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e21) (local.get $e11))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e22) (local.get $e12))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e23) (local.get $e13))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e10) (local.get $e30))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e11) (local.get $e31))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e12) (local.get $e32))) (local.set $q (i32.add (local.get $q) (local.get $vs)))
        (v128.store (local.get $q) (f32x4.sub (local.get $e13) (local.get $e33)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $channels (i32.lt_s (local.get $cb) (local.get $cs))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tiles (i32.lt_s (local.get $i) (local.get $n)))))
  
  ;; Cm[M][N] = A[M][K] Bm[K][N], row-major; M and N multiples of 4. Register
  ;; blocks of 4 rows (broadcast loads of A) x 8 (or 4) columns.
  (func $gemm (export "gemm") (param $A i32) (param $Bm i32) (param $Cm i32) (param $M i32) (param $K i32) (param $N i32)
    (local $r i32) (local $n i32) (local $k i32) (local $a i32) (local $bp i32) (local $c i32) (local $K4 i32) (local $N4 i32)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128) (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $K4 (i32.shl (local.get $K) (i32.const 2))) (local.set $N4 (i32.shl (local.get $N) (i32.const 2)))
    (local.set $r (i32.const 0))
    (loop $rows
      (local.set $n (i32.const 0))
      (loop $cols
        (local.set $a (i32.add (local.get $A) (i32.mul (local.get $r) (local.get $K4))))
        (local.set $bp (i32.add (local.get $Bm) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $c (i32.add (local.get $Cm) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $N)) (local.get $n)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (if (i32.le_s (i32.add (local.get $n) (i32.const 8)) (local.get $N))
          (then
            (local.set $s00 (v128.const i32x4 0 0 0 0))
            (local.set $s01 (v128.const i32x4 0 0 0 0))
            (local.set $s10 (v128.const i32x4 0 0 0 0))
            (local.set $s11 (v128.const i32x4 0 0 0 0))
            (local.set $s20 (v128.const i32x4 0 0 0 0))
            (local.set $s21 (v128.const i32x4 0 0 0 0))
            (local.set $s30 (v128.const i32x4 0 0 0 0))
            (local.set $s31 (v128.const i32x4 0 0 0 0))
            (loop $k8
              (local.set $b0 (v128.load (local.get $bp))) (local.set $b1 (v128.load offset=16 (local.get $bp)))
              (local.set $av (v128.load32_splat (local.get $a)))
              (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $av) (local.get $b0)))) (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat (i32.add (local.get $a) (local.get $K4))))
              (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $av) (local.get $b0)))) (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat (i32.add (local.get $a) (i32.mul (local.get $K4) (i32.const 2)))))
              (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $av) (local.get $b0)))) (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $av (v128.load32_splat (i32.add (local.get $a) (i32.mul (local.get $K4) (i32.const 3)))))
              (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $av) (local.get $b0)))) (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $av) (local.get $b1))))
              (local.set $a (i32.add (local.get $a) (i32.const 4))) (local.set $bp (i32.add (local.get $bp) (local.get $N4)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $k8 (i32.lt_s (local.get $k) (local.get $K))))
            (v128.store (local.get $c) (local.get $s00)) (v128.store offset=16 (local.get $c) (local.get $s01))
            (v128.store (i32.add (local.get $c) (local.get $N4)) (local.get $s10)) (v128.store offset=16 (i32.add (local.get $c) (local.get $N4)) (local.get $s11))
            (v128.store (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 2))) (local.get $s20)) (v128.store offset=16 (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 2))) (local.get $s21))
            (v128.store (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 3))) (local.get $s30)) (v128.store offset=16 (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 3))) (local.get $s31))
            (local.set $n (i32.add (local.get $n) (i32.const 8))))
          (else
            (local.set $s00 (v128.const i32x4 0 0 0 0))
            (local.set $s10 (v128.const i32x4 0 0 0 0))
            (local.set $s20 (v128.const i32x4 0 0 0 0))
            (local.set $s30 (v128.const i32x4 0 0 0 0))
            (loop $k4
              (local.set $b0 (v128.load (local.get $bp)))
              (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (v128.load32_splat (local.get $a)) (local.get $b0))))
              (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (v128.load32_splat (i32.add (local.get $a) (local.get $K4))) (local.get $b0))))
              (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (v128.load32_splat (i32.add (local.get $a) (i32.mul (local.get $K4) (i32.const 2)))) (local.get $b0))))
              (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (v128.load32_splat (i32.add (local.get $a) (i32.mul (local.get $K4) (i32.const 3)))) (local.get $b0))))
              (local.set $a (i32.add (local.get $a) (i32.const 4))) (local.set $bp (i32.add (local.get $bp) (local.get $N4)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $k4 (i32.lt_s (local.get $k) (local.get $K))))
            (v128.store (local.get $c) (local.get $s00))
            (v128.store (i32.add (local.get $c) (local.get $N4)) (local.get $s10))
            (v128.store (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 2))) (local.get $s20))
            (v128.store (i32.add (local.get $c) (i32.mul (local.get $N4) (i32.const 3))) (local.get $s30))
            (local.set $n (i32.add (local.get $n) (i32.const 4)))))
        (br_if $cols (i32.lt_s (local.get $n) (local.get $N))))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br_if $rows (i32.lt_s (local.get $r) (local.get $M)))))
  
  ;; y [B, OH, OW, N] from M: each tile's 2x2 outputs A^T m A, those inside y,
  ;; plus bias [N] unless $bias is 0, then max(0, .) if $relu: a fused
  ;; convolution's epilogue while the tile is in registers.
  (func $wino_output
    (param $M i32) (param $y i32) (param $OH i32) (param $OW i32) (param $N i32)
    (param $tilesH i32) (param $tilesW i32) (param $t0 i32) (param $n i32) (param $chunk i32)
    (param $bias i32) (param $relu i32)
    (local $o0 v128) (local $o1 v128) (local $o2 v128) (local $o3 v128) (local $bv v128)
    (local $i i32) (local $t i32) (local $b i32) (local $r i32) (local $ty i32) (local $tx i32) (local $oy i32) (local $ox i32)
    (local $ns i32) (local $ms i32) (local $cb i32) (local $q i32) (local $yb i32) (local $yrs i32) (local $right i32) (local $down i32)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $u0 v128) (local $w0 v128) (local $u1 v128) (local $w1 v128) (local $u2 v128) (local $w2 v128) (local $u3 v128) (local $w3 v128)
    (local.set $ns (i32.shl (local.get $N) (i32.const 2)))
    (local.set $ms (i32.mul (local.get $chunk) (local.get $ns)))
    (local.set $i (i32.const 0))
    (loop $tiles
      (local.set $t (i32.add (local.get $t0) (local.get $i)))
      (local.set $b (i32.div_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $r (i32.rem_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $oy (i32.shl (i32.div_u (local.get $r) (local.get $tilesW)) (i32.const 1)))
      (local.set $ox (i32.shl (i32.rem_u (local.get $r) (local.get $tilesW)) (i32.const 1)))
      (local.set $down (i32.lt_s (i32.add (local.get $oy) (i32.const 1)) (local.get $OH)))
      (local.set $right (i32.lt_s (i32.add (local.get $ox) (i32.const 1)) (local.get $OW)))
      (local.set $yrs (i32.mul (local.get $OW) (local.get $ns)))
      (local.set $yb (i32.add (local.get $y) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $OH)) (local.get $oy)) (local.get $OW)) (local.get $ox)) (local.get $ns))))
      (local.set $cb (i32.const 0))
      (loop $channels
        (local.set $q (i32.add (i32.add (local.get $M) (i32.mul (local.get $i) (local.get $ns))) (local.get $cb)))
        ;; per row r of the tile: u = m0+m1+m2, w = m1-m2-m3 (m A)
        (local.set $m0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m3 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $u0 (f32x4.add (f32x4.add (local.get $m0) (local.get $m1)) (local.get $m2))) (local.set $w0 (f32x4.sub (f32x4.sub (local.get $m1) (local.get $m2)) (local.get $m3)))
        (local.set $m0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m3 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $u1 (f32x4.add (f32x4.add (local.get $m0) (local.get $m1)) (local.get $m2))) (local.set $w1 (f32x4.sub (f32x4.sub (local.get $m1) (local.get $m2)) (local.get $m3)))
        (local.set $m0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m3 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $u2 (f32x4.add (f32x4.add (local.get $m0) (local.get $m1)) (local.get $m2))) (local.set $w2 (f32x4.sub (f32x4.sub (local.get $m1) (local.get $m2)) (local.get $m3)))
        (local.set $m0 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m1 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m2 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $m3 (v128.load (local.get $q))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (local.set $u3 (f32x4.add (f32x4.add (local.get $m0) (local.get $m1)) (local.get $m2))) (local.set $w3 (f32x4.sub (f32x4.sub (local.get $m1) (local.get $m2)) (local.get $m3)))
        ;; then A^T over the rows
        (local.set $o0 (f32x4.add (f32x4.add (local.get $u0) (local.get $u1)) (local.get $u2)))
        (local.set $o1 (f32x4.add (f32x4.add (local.get $w0) (local.get $w1)) (local.get $w2)))
        (local.set $o2 (f32x4.sub (f32x4.sub (local.get $u1) (local.get $u2)) (local.get $u3)))
        (local.set $o3 (f32x4.sub (f32x4.sub (local.get $w1) (local.get $w2)) (local.get $w3)))
        (if (local.get $bias) (then
          (local.set $bv (v128.load (i32.add (local.get $bias) (local.get $cb))))
          (local.set $o0 (f32x4.add (local.get $o0) (local.get $bv)))
          (local.set $o1 (f32x4.add (local.get $o1) (local.get $bv)))
          (local.set $o2 (f32x4.add (local.get $o2) (local.get $bv)))
          (local.set $o3 (f32x4.add (local.get $o3) (local.get $bv)))))
        (if (local.get $relu) (then
          ;; pmax(o, 0) is (o < 0 ? 0 : o): NaN and -0 pass through, as in tfjs's cpu Relu
          (local.set $o0 (f32x4.pmax (local.get $o0) (v128.const f32x4 0 0 0 0)))
          (local.set $o1 (f32x4.pmax (local.get $o1) (v128.const f32x4 0 0 0 0)))
          (local.set $o2 (f32x4.pmax (local.get $o2) (v128.const f32x4 0 0 0 0)))
          (local.set $o3 (f32x4.pmax (local.get $o3) (v128.const f32x4 0 0 0 0)))))
        (local.set $q (i32.add (local.get $yb) (local.get $cb)))
        (v128.store (local.get $q) (local.get $o0))
        (if (local.get $right) (then (v128.store (i32.add (local.get $q) (local.get $ns)) (local.get $o1))))
        (if (local.get $down) (then
          (v128.store (i32.add (local.get $q) (local.get $yrs)) (local.get $o2))
          (if (local.get $right) (then (v128.store (i32.add (i32.add (local.get $q) (local.get $yrs)) (local.get $ns)) (local.get $o3))))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $channels (i32.lt_s (local.get $cb) (local.get $ns))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tiles (i32.lt_s (local.get $i) (local.get $n)))))
  
  ;; M[xi][i][c] = (A dY A^T) of each tile's 2x2 output gradient (0 outside dy):
  ;; the gradient of the output transform, for the filter gradient.
  (func $wino_output_grad
    (param $dy i32) (param $M i32) (param $OH i32) (param $OW i32) (param $N i32)
    (param $tilesH i32) (param $tilesW i32) (param $t0 i32) (param $n i32) (param $chunk i32)
    (local $i i32) (local $t i32) (local $b i32) (local $r i32) (local $oy i32) (local $ox i32)
    (local $ns i32) (local $ms i32) (local $cb i32) (local $q i32) (local $g i32) (local $grs i32) (local $right i32) (local $down i32)
    (local $d00 v128) (local $d01 v128) (local $d10 v128) (local $d11 v128)
    (local $f00 v128) (local $f01 v128) (local $f02 v128) (local $f03 v128) (local $f10 v128) (local $f11 v128) (local $f12 v128) (local $f13 v128)
    (local.set $ns (i32.shl (local.get $N) (i32.const 2)))
    (local.set $ms (i32.mul (local.get $chunk) (local.get $ns)))
    (local.set $i (i32.const 0))
    (loop $tiles
      (local.set $t (i32.add (local.get $t0) (local.get $i)))
      (local.set $b (i32.div_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $r (i32.rem_u (local.get $t) (i32.mul (local.get $tilesH) (local.get $tilesW))))
      (local.set $oy (i32.shl (i32.div_u (local.get $r) (local.get $tilesW)) (i32.const 1)))
      (local.set $ox (i32.shl (i32.rem_u (local.get $r) (local.get $tilesW)) (i32.const 1)))
      (local.set $down (i32.lt_s (i32.add (local.get $oy) (i32.const 1)) (local.get $OH)))
      (local.set $right (i32.lt_s (i32.add (local.get $ox) (i32.const 1)) (local.get $OW)))
      (local.set $grs (i32.mul (local.get $OW) (local.get $ns)))
      (local.set $g (i32.add (local.get $dy) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $OH)) (local.get $oy)) (local.get $OW)) (local.get $ox)) (local.get $ns))))
      (local.set $cb (i32.const 0))
      (loop $channels
        (local.set $q (i32.add (local.get $g) (local.get $cb)))
        (local.set $d00 (v128.load (local.get $q)))
        (local.set $d01 (if (result v128) (local.get $right) (then (v128.load (i32.add (local.get $q) (local.get $ns)))) (else (v128.const i32x4 0 0 0 0))))
        (local.set $d10 (if (result v128) (local.get $down) (then (v128.load (i32.add (local.get $q) (local.get $grs)))) (else (v128.const i32x4 0 0 0 0))))
        (local.set $d11 (if (result v128) (i32.and (local.get $down) (local.get $right)) (then (v128.load (i32.add (i32.add (local.get $q) (local.get $grs)) (local.get $ns)))) (else (v128.const i32x4 0 0 0 0))))
        ;; each gradient row times A^T: (d0, d0+d1, d0-d1, -d1)
        (local.set $f00 (local.get $d00)) (local.set $f01 (f32x4.add (local.get $d00) (local.get $d01)))
        (local.set $f02 (f32x4.sub (local.get $d00) (local.get $d01))) (local.set $f03 (f32x4.neg (local.get $d01)))
        (local.set $f10 (local.get $d10)) (local.set $f11 (f32x4.add (local.get $d10) (local.get $d11)))
        (local.set $f12 (f32x4.sub (local.get $d10) (local.get $d11))) (local.set $f13 (f32x4.neg (local.get $d11)))
        ;; then A over the rows: (f0, f0+f1, f0-f1, -f1)
        (local.set $q (i32.add (i32.add (local.get $M) (i32.mul (local.get $i) (local.get $ns))) (local.get $cb)))
        (v128.store (local.get $q) (local.get $f00)) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (local.get $f01)) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (local.get $f02)) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (local.get $f03)) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.add (local.get $f00) (local.get $f10))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.add (local.get $f01) (local.get $f11))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.add (local.get $f02) (local.get $f12))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.add (local.get $f03) (local.get $f13))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.sub (local.get $f00) (local.get $f10))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.sub (local.get $f01) (local.get $f11))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.sub (local.get $f02) (local.get $f12))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.sub (local.get $f03) (local.get $f13))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.neg (local.get $f10))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.neg (local.get $f11))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.neg (local.get $f12))) (local.set $q (i32.add (local.get $q) (local.get $ms)))
        (v128.store (local.get $q) (f32x4.neg (local.get $f13)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
        (br_if $channels (i32.lt_s (local.get $cb) (local.get $ns))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $tiles (i32.lt_s (local.get $i) (local.get $n)))))

  ;; y [B, H, W, N] = the 3x3, stride-1, pad-1 convolution of x [B, H, W, C]
  ;; with the filter whose transform is u [16][C][N]. scratch holds
  ;; 16*chunk*(C+N) + 16*C floats (V, M, patch). Bias and ReLU as in $wino_output.
  (func (export "winograd_conv")
    (param $x i32) (param $u i32) (param $y i32) (param $scratch i32) (param $B i32) (param $H i32) (param $W i32)
    (param $C i32) (param $N i32) (param $chunk i32) (param $bias i32) (param $relu i32)
    (local $tilesH i32) (local $tilesW i32) (local $T i32) (local $t0 i32) (local $n i32) (local $xi i32)
    (local $V i32) (local $M i32) (local $patch i32)
    (local.set $tilesH (i32.shr_u (i32.add (local.get $H) (i32.const 1)) (i32.const 1)))
    (local.set $tilesW (i32.shr_u (i32.add (local.get $W) (i32.const 1)) (i32.const 1)))
    (local.set $T (i32.mul (local.get $B) (i32.mul (local.get $tilesH) (local.get $tilesW))))
    (local.set $V (local.get $scratch))
    (local.set $M (i32.add (local.get $V) (i32.shl (i32.mul (i32.mul (local.get $chunk) (local.get $C)) (i32.const 16)) (i32.const 2))))
    (local.set $patch (i32.add (local.get $M) (i32.shl (i32.mul (i32.mul (local.get $chunk) (local.get $N)) (i32.const 16)) (i32.const 2))))
    (local.set $t0 (i32.const 0))
    (loop $chunks
      (local.set $n (i32.sub (local.get $T) (local.get $t0)))
      (if (i32.gt_s (local.get $n) (local.get $chunk)) (then (local.set $n (local.get $chunk))))
      (call $wino_input (local.get $x) (local.get $V) (local.get $patch) (local.get $H) (local.get $W) (local.get $C)
        (local.get $tilesH) (local.get $tilesW) (local.get $t0) (local.get $n) (local.get $chunk))
      ;; rows past n (up to a multiple of 4) are left-over scratch; their products are never read
      (local.set $xi (i32.const 0))
      (loop $products
        (call $gemm
          (i32.add (local.get $V) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $chunk)) (local.get $C)) (i32.const 2)))
          (i32.add (local.get $u) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $C)) (local.get $N)) (i32.const 2)))
          (i32.add (local.get $M) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $chunk)) (local.get $N)) (i32.const 2)))
          (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (local.get $C) (local.get $N))
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br_if $products (i32.lt_s (local.get $xi) (i32.const 16))))
      (call $wino_output (local.get $M) (local.get $y) (local.get $H) (local.get $W) (local.get $N)
        (local.get $tilesH) (local.get $tilesW) (local.get $t0) (local.get $n) (local.get $chunk)
        (local.get $bias) (local.get $relu))
      (local.set $t0 (i32.add (local.get $t0) (local.get $chunk)))
      (br_if $chunks (i32.lt_s (local.get $t0) (local.get $T)))))

  ;; du [16][C][N] = sum over tiles of V^T (A dY A^T), per xi: the filter
  ;; gradient in the transformed domain (the caller maps it back with
  ;; G^T du G). x [B, H, W, C], dy [B, H, W, N]; scratch as winograd_conv.
  (func (export "winograd_filter_grad")
    (param $x i32) (param $dy i32) (param $du i32) (param $scratch i32) (param $B i32) (param $H i32) (param $W i32)
    (param $C i32) (param $N i32) (param $chunk i32)
    (local $tilesH i32) (local $tilesW i32) (local $T i32) (local $t0 i32) (local $n i32) (local $xi i32)
    (local $V i32) (local $M i32) (local $patch i32) (local $c i32) (local $k i32)
    (local $vAt i32) (local $mAt i32) (local $uAt i32)
    (local.set $tilesH (i32.shr_u (i32.add (local.get $H) (i32.const 1)) (i32.const 1)))
    (local.set $tilesW (i32.shr_u (i32.add (local.get $W) (i32.const 1)) (i32.const 1)))
    (local.set $T (i32.mul (local.get $B) (i32.mul (local.get $tilesH) (local.get $tilesW))))
    (local.set $V (local.get $scratch))
    (local.set $M (i32.add (local.get $V) (i32.shl (i32.mul (i32.mul (local.get $chunk) (local.get $C)) (i32.const 16)) (i32.const 2))))
    (local.set $patch (i32.add (local.get $M) (i32.shl (i32.mul (i32.mul (local.get $chunk) (local.get $N)) (i32.const 16)) (i32.const 2))))
    (call $zero (local.get $du) (i32.mul (i32.mul (local.get $C) (local.get $N)) (i32.const 16)))
    (local.set $t0 (i32.const 0))
    (loop $chunks
      (local.set $n (i32.sub (local.get $T) (local.get $t0)))
      (if (i32.gt_s (local.get $n) (local.get $chunk)) (then (local.set $n (local.get $chunk))))
      (call $wino_input (local.get $x) (local.get $V) (local.get $patch) (local.get $H) (local.get $W) (local.get $C)
        (local.get $tilesH) (local.get $tilesW) (local.get $t0) (local.get $n) (local.get $chunk))
      (call $wino_output_grad (local.get $dy) (local.get $M) (local.get $H) (local.get $W) (local.get $N)
        (local.get $tilesH) (local.get $tilesW) (local.get $t0) (local.get $n) (local.get $chunk))
      (local.set $xi (i32.const 0))
      (loop $products
        (local.set $c (i32.const 0))
        (loop $in_channels
          (local.set $vAt (i32.add (local.get $V) (i32.shl (i32.add (i32.mul (i32.mul (local.get $xi) (local.get $chunk)) (local.get $C)) (local.get $c)) (i32.const 2))))
          (local.set $k (i32.const 0))
          (loop $out_channels
            (local.set $mAt (i32.add (local.get $M) (i32.shl (i32.add (i32.mul (i32.mul (local.get $xi) (local.get $chunk)) (local.get $N)) (local.get $k)) (i32.const 2))))
            (local.set $uAt (i32.add (local.get $du) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $xi) (local.get $C)) (local.get $c)) (local.get $N)) (local.get $k)) (i32.const 2))))
            ;; a 1 x n "image" of tiles: V rows are the input, M rows the gradient
            (if (i32.le_s (i32.add (local.get $k) (i32.const 8)) (local.get $N))
              (then
                (call $filter_block8 (local.get $vAt) (local.get $mAt) (local.get $uAt) (i32.const 1) (local.get $n) (i32.const 1)
                  (local.get $C) (local.get $N) (i32.const 1) (i32.const 1))
                (local.set $k (i32.add (local.get $k) (i32.const 8))))
              (else
                (call $filter_block4 (local.get $vAt) (local.get $mAt) (local.get $uAt) (i32.const 1) (local.get $n) (i32.const 1)
                  (local.get $C) (local.get $N) (i32.const 1) (i32.const 1))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))))
            (br_if $out_channels (i32.lt_s (local.get $k) (local.get $N))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $in_channels (i32.lt_s (local.get $c) (local.get $C))))
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br_if $products (i32.lt_s (local.get $xi) (i32.const 16))))
      (local.set $t0 (i32.add (local.get $t0) (local.get $chunk)))
      (br_if $chunks (i32.lt_s (local.get $t0) (local.get $T)))))
)
