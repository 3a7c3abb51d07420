;; Elementwise: bias adds, bias-gradient sums and ReLU gradients.
;; A fragment of one module built by scripts/build-kernels.mjs: conventions
;; (addresses, layouts, who checks shapes) in the package README.

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
