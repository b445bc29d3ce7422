#!/usr/bin/env bash
# e2p on an 8K H.264 clip beside ffmpeg's v360 filter making the same views: e2p_vs_v360.sh E2P WORK_DIR
#
# The clip: e2p's demo panorama scaled to 7680x3840, scrolling and with film grain (so that every
# frame costs a real decode), 24 frames of H.264 (libx264 veryfast, CRF 20). Both make 8 views of
# 1920x1080 (yaw 0, 45, ..., 315; 90 x 58.7 degrees; bilinear) of every frame as JPEG, in one pass
# over the clip. Prints each one's wall and user seconds (/usr/bin/time); divide by 192 views.
set -euo pipefail
E2P=${1:?usage: e2p_vs_v360.sh E2P WORK_DIR}
mkdir -p "${2:?usage: e2p_vs_v360.sh E2P WORK_DIR}" && cd "$2"
rm -rf demo e2p_out v360_out && mkdir -p v360_out
"$E2P" --demo -o demo --size 64x48 --quiet
if [[ ! -f clip.mp4 ]]; then
  ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 24 -i demo/demo_equirect.jpg \
    -vf "scale=7680:3840:flags=bicubic,scroll=h=0.004,noise=alls=6:allf=t" -frames:v 24 \
    -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p clip.mp4
fi
ffprobe -v error -show_entries stream=width,height,nb_frames -of csv=p=0 clip.mp4
vf=$(python3 -c 'import math; print(2*math.degrees(math.atan(math.tan(math.radians(45))*1080/1920)))')
fc="[0:v]split=8"; for k in 0 1 2 3 4 5 6 7; do fc+="[s$k]"; done; fc+=";"
maps=()
for k in 0 1 2 3 4 5 6 7; do
  yaw=$((k * 45)); [[ $yaw -gt 180 ]] && yaw=$((yaw - 360))
  fc+="[s$k]v360=input=e:output=flat:yaw=$yaw:h_fov=90:v_fov=$vf:w=1920:h=1080:interp=linear[o$k];"
  maps+=(-map "[o$k]" -q:v 3 "v360_out/cam${k}_%03d.jpg")
done
fc=${fc%;}
/usr/bin/time -f "v360: %e s wall, %U s user" ffmpeg -nostdin -loglevel error -y -i clip.mp4 -filter_complex "$fc" "${maps[@]}"
/usr/bin/time -f "e2p: %e s wall, %U s user" "$E2P" clip.mp4 -o e2p_out --size 1920x1080 --rig ring:8 --threads 2 --quiet
echo "views: v360 $(ls v360_out | wc -l), e2p $(ls e2p_out | wc -l)"
