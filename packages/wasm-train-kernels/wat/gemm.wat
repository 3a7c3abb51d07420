;; GEMM: the matrix product (1x1 convolutions, Winograd's 16 products,
;; transposed products) and the im2col rows the filter gradient feeds it.
;; A fragment of one module built by scripts/build-kernels.mjs: conventions
;; (addresses, layouts, who checks shapes) in the package README.

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
