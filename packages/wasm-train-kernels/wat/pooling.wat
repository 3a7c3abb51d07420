;; Pooling: 2x2 max pools and their gradients, alone and fused with a
;; bias and ReLU, and with a first layer's convolution.
;; A fragment of one module built by scripts/build-kernels.mjs: conventions
;; (addresses, layouts, who checks shapes) in the package README.

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
